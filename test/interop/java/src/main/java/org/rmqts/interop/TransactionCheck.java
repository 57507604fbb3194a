package org.rmqts.interop;

import static org.rmqts.interop.CheckSupport.emit;
import static org.rmqts.interop.CheckSupport.ownedQueues;
import static org.rmqts.interop.CheckSupport.q;
import static org.rmqts.interop.CheckSupport.arg;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.client.producer.TransactionSendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Transactional messages with the real remoting client (TransactionMQProducer), one JSON line per
 * event:
 *
 *   flow --namesrv A --topic T --group PG [--timeout-ms MS]
 *     a push consumer on T, then one transaction each whose local transaction answers COMMIT,
 *     ROLLBACK and UNKNOW (its check-back answers COMMIT), then a committed "marker". Emits
 *     {"event":"sent",...} per send, {"event":"checked",...} per check-back and
 *     {"event":"received",...} per delivery; ends 1.5 s after commit, unknown and marker arrived.
 *   send-unknown --namesrv A --topic T --group PG
 *     sends one transaction answering UNKNOW and shuts the producer down at once.
 *   await-check --namesrv A --topic T --group PG --body B [--timeout-ms MS]
 *     a producer of PG whose check-back answers COMMIT and a push consumer on T; the producer
 *     sends one plain "tx-warmup" message (so it knows the broker), then waits until a message
 *     with body B arrives.
 * Ends with {"event":"done"} (exit 0) or {"event":"error",...} (exit 1).
 */
public final class TransactionCheck {
    private TransactionCheck() {
    }

    public static void main(String[] args) {
        Map<String, CheckSupport.Command> commands = new HashMap<>();
        commands.put("flow", TransactionCheck::flow);
        commands.put("send-unknown", TransactionCheck::sendUnknown);
        commands.put("await-check", TransactionCheck::awaitCheck);
        CheckSupport.runCommand(args, "usage: flow|send-unknown|await-check ...", commands);
    }

    private static String body(MessageExt m) {
        return new String(m.getBody(), StandardCharsets.UTF_8);
    }

    /** Local transaction: the action named by the message's "action" property; checks answer COMMIT. */
    private static TransactionListener listener() {
        return new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                String action = msg.getUserProperty("action");
                emit("{\"event\":\"executed\",\"body\":" + q(new String(msg.getBody(), StandardCharsets.UTF_8)) + ",\"transactionId\":" + q(msg.getTransactionId())
                    + ",\"action\":" + q(action) + "}");
                if ("COMMIT".equals(action)) {
                    return LocalTransactionState.COMMIT_MESSAGE;
                }
                if ("ROLLBACK".equals(action)) {
                    return LocalTransactionState.ROLLBACK_MESSAGE;
                }
                return LocalTransactionState.UNKNOW;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                emit("{\"event\":\"checked\",\"at\":" + System.currentTimeMillis() + ",\"body\":" + q(body(msg)) + ",\"transactionId\":" + q(msg.getTransactionId())
                    + ",\"topic\":" + q(msg.getTopic()) + ",\"queueId\":" + msg.getQueueId() + ",\"checkTimes\":" + q(msg.getProperty("TRANSACTION_CHECK_TIMES")) + "}");
                return LocalTransactionState.COMMIT_MESSAGE;
            }
        };
    }

    private static TransactionMQProducer producer(String namesrv, String group) throws Exception {
        TransactionMQProducer p = new TransactionMQProducer(group);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName(group + "-" + System.nanoTime());
        // Short client timers: the broker learns about a (re)started producer within a second.
        p.setHeartbeatBrokerInterval(1000);
        p.setPollNameServerInterval(1000);
        p.setTransactionListener(listener());
        p.start();
        return p;
    }

    private static DefaultMQPushConsumer consumer(String namesrv, String topic, Map<String, AtomicInteger> got) throws Exception {
        String group = "CG_tx_" + System.nanoTime();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(group);
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        // A rebalance bumps the subscription version and heartbeats it, but the 5.x client skips
        // that heartbeat when another one holds its lock; pulls then get SUBSCRIPTION_NOT_LATEST
        // until the next periodic heartbeat (30 s by default, on any broker).
        c.setHeartbeatBrokerInterval(1000);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                got.computeIfAbsent(body(m), k -> new AtomicInteger()).incrementAndGet();
                emit("{\"event\":\"received\",\"at\":" + System.currentTimeMillis() + ",\"body\":" + q(body(m)) + ",\"topic\":" + q(m.getTopic())
                    + ",\"transactionId\":" + q(m.getProperty("__transactionId__")) + ",\"uniqKey\":" + q(m.getProperty("UNIQ_KEY"))
                    + ",\"tranMsg\":" + q(m.getProperty("TRAN_MSG")) + ",\"realTopic\":" + q(m.getProperty("REAL_TOPIC"))
                    + ",\"preparedTransactionOffset\":" + m.getPreparedTransactionOffset() + "}");
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        awaitAssignment(c, topic, 30000);
        return c;
    }

    private static void awaitAssignment(DefaultMQPushConsumer c, String topic, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (;;) {
            if (ownedQueues(c, topic) > 0) {
                Thread.sleep(300);
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("consumer owned no queue of " + topic + " after " + timeoutMs + " ms");
            }
            Thread.sleep(50);
        }
    }

    private static TransactionSendResult send(TransactionMQProducer p, String topic, String body, String action) throws Exception {
        Message msg = new Message(topic, "TagTx", body.getBytes(StandardCharsets.UTF_8));
        msg.putUserProperty("action", action);
        TransactionSendResult r = p.sendMessageInTransaction(msg, null);
        emit("{\"event\":\"sent\",\"at\":" + System.currentTimeMillis() + ",\"body\":" + q(body) + ",\"status\":" + q(String.valueOf(r.getSendStatus()))
            + ",\"localState\":" + q(String.valueOf(r.getLocalTransactionState())) + ",\"transactionId\":" + q(r.getTransactionId())
            + ",\"msgId\":" + q(r.getMsgId()) + ",\"offsetMsgId\":" + q(r.getOffsetMsgId()) + ",\"queueOffset\":" + r.getQueueOffset() + "}");
        return r;
    }

    private static void waitFor(Map<String, AtomicInteger> got, Set<String> bodies, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        while (!got.keySet().containsAll(bodies)) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("received " + got.keySet() + ", still missing some of " + bodies + " after " + timeoutMs + " ms");
            }
            Thread.sleep(50);
        }
    }

    private static void flow(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        String group = arg(args, "group", null);
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "30000"));
        Map<String, AtomicInteger> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = consumer(namesrv, topic, got);
        TransactionMQProducer p = producer(namesrv, group);
        try {
            send(p, topic, "tx-commit", "COMMIT");
            send(p, topic, "tx-rollback", "ROLLBACK");
            send(p, topic, "tx-unknown", "UNKNOW");
            send(p, topic, "tx-marker", "COMMIT");
            Set<String> expected = new HashSet<>(Arrays.asList("tx-commit", "tx-unknown", "tx-marker"));
            waitFor(got, expected, timeoutMs);
            // Room for a duplicate or a late rolled-back message to show up.
            Thread.sleep(1500);
        } finally {
            p.shutdown();
            c.shutdown();
        }
    }

    private static void sendUnknown(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        String group = arg(args, "group", null);
        TransactionMQProducer p = producer(namesrv, group);
        try {
            send(p, topic, arg(args, "body", "tx-restart"), "UNKNOW");
        } finally {
            p.shutdown();
        }
    }

    private static void awaitCheck(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        String group = arg(args, "group", null);
        String expected = arg(args, "body", null);
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "30000"));
        Map<String, AtomicInteger> got = new ConcurrentHashMap<>();
        DefaultMQPushConsumer c = consumer(namesrv, topic, got);
        TransactionMQProducer p = producer(namesrv, group);
        try {
            // A producer heartbeats only to brokers of topics it has published to (5.x no longer
            // starts with TBW102's route), as an application's producer does after its first send.
            p.send(new Message(topic, "Warmup", "tx-warmup".getBytes(StandardCharsets.UTF_8)));
            waitFor(got, new HashSet<>(Arrays.asList(expected)), timeoutMs);
            Thread.sleep(1000);
        } finally {
            p.shutdown();
            c.shutdown();
        }
    }
}
