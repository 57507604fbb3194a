package org.rmqts.interop;

import java.util.Map;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * What every check class shares: JSON lines on stdout, string quoting, --name value arguments,
 * sub-command dispatch, and how many queues of a topic a push consumer owns.
 */
final class CheckSupport {
    private CheckSupport() {
    }

    /** One sub-command of a check class; gets all arguments (args[0] is its name). */
    interface Command {
        void run(String[] args) throws Exception;
    }

    static synchronized void emit(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static void emit(Json j) {
        emit(j.toString());
    }

    /**
     * Runs the sub-command named by args[0], then prints {"event":"done"} and exits 0; on any
     * throwable (an unknown sub-command throws `usage`) prints {"event":"error",...} and exits 1.
     */
    static void runCommand(String[] args, String usage, Map<String, Command> commands) {
        try {
            Command command = commands.get(args.length > 0 ? args[0] : "");
            if (command == null) {
                throw new IllegalArgumentException(usage);
            }
            command.run(args);
            emit("{\"event\":\"done\"}");
            System.exit(0);
        } catch (Throwable t) {
            emit("{\"event\":\"error\",\"error\":" + q(t.toString()) + "}");
            System.exit(1);
        }
    }

    /** How many queues of `topic` the consumer's rebalance has given it. */
    static int ownedQueues(DefaultMQPushConsumer c, String topic) {
        int n = 0;
        for (MessageQueue mq : c.getDefaultMQPushConsumerImpl().getRebalanceImpl().getProcessQueueTable().keySet()) {
            if (topic.equals(mq.getTopic())) {
                n++;
            }
        }
        return n;
    }

    static String q(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    static String arg(String[] args, String name, String fallback) {
        for (int i = 1; i + 1 < args.length; i++) {
            if (args[i].equals("--" + name)) {
                return args[i + 1];
            }
        }
        if (fallback == null) {
            throw new IllegalArgumentException("missing --" + name);
        }
        return fallback;
    }
}
