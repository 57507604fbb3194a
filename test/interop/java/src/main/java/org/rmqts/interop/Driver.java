package org.rmqts.interop;

import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.apache.rocketmq.client.consumer.DefaultLitePullConsumer;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientExt;
import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Interop driver for the Java remoting client (org.apache.rocketmq:rocketmq-client, 4.9.x and 5.x).
 * Command line and JSON-lines output: see test/interop/DRIVERS.md. Only JSON lines go to stdout;
 * everything else (including anything a library prints to System.out) goes to stderr.
 */
public final class Driver {
    private static PrintStream out;

    private Driver() {
    }

    public static void main(String[] argv) {
        // Keep the real stdout for our JSON lines only; route stray library output to stderr.
        out = new PrintStream(new FileOutputStream(FileDescriptor.out), false);
        System.setOut(System.err);
        int rc;
        try {
            rc = run(argv);
        } catch (UsageException e) {
            emit(Json.event("error").str("error", e.getMessage()));
            rc = 2;
        } catch (Throwable t) {
            t.printStackTrace(System.err);
            emit(Json.event("error").str("error", describe(t)));
            rc = 1;
        }
        out.flush();
        System.err.flush();
        System.exit(rc);
    }

    private static int run(String[] argv) throws Exception {
        if (argv.length == 0) {
            throw new UsageException("usage: produce|consume --namesrv ADDR ... (see test/interop/DRIVERS.md)");
        }
        Args a = Args.parse(argv, 1);
        switch (argv[0]) {
            case "produce":
                return produce(a);
            case "consume":
                return consume(a);
            default:
                throw new UsageException("unknown command: " + argv[0]);
        }
    }

    // ------------------------------------------------------------------------------------------
    // produce

    private static int produce(Args a) throws Exception {
        String namesrv = a.req("namesrv");
        String topic = a.req("topic");
        String group = a.req("group");
        long count = a.longOpt("count", -1);
        if (count < 0) {
            throw new UsageException("--count N is required");
        }
        String mode = a.req("mode");
        String runId = a.opt("run-id", "r" + Long.toString(System.currentTimeMillis(), 36));
        long start = a.longOpt("start-index", 0);
        int bodySize = (int) a.longOpt("body-size", 64);
        String tag = a.opt("tag", null);
        int batchSize = (int) a.longOpt("batch-size", 8);
        int retries = (int) a.longOpt("retries", 2);
        int sendTimeout = (int) a.longOpt("send-timeout-ms", 3000);
        a.checkAllUsed();
        if (!Arrays.asList("sync", "async", "oneway", "batch").contains(mode)) {
            throw new UsageException("unknown --mode " + mode + " (sync|async|oneway|batch)");
        }
        if (batchSize < 1) {
            throw new UsageException("--batch-size must be >= 1");
        }

        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("drv-p-" + pid() + "-" + System.nanoTime());
        producer.setSendMsgTimeout(sendTimeout);
        producer.setRetryTimesWhenSendFailed(retries);
        producer.setRetryTimesWhenSendAsyncFailed(retries);
        producer.start();

        final AtomicLong sent = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        try {
            long end = start + count;
            switch (mode) {
                case "sync":
                    for (long i = start; i < end; i++) {
                        Message m = buildMessage(topic, runId, i, bodySize, tag);
                        try {
                            SendResult r = producer.send(m);
                            emitSent(i, m, r, r.getMsgId(), r.getOffsetMsgId(), r.getQueueOffset());
                            sent.incrementAndGet();
                        } catch (Exception e) {
                            emitSendError(i, e);
                            failed.incrementAndGet();
                        }
                    }
                    break;
                case "oneway":
                    for (long i = start; i < end; i++) {
                        Message m = buildMessage(topic, runId, i, bodySize, tag);
                        try {
                            producer.sendOneway(m);
                            emit(Json.event("sent").num("index", i).bool("oneway", true)
                                .str("msgId", MessageClientIDSetter.getUniqID(m))
                                .str("bodySha256", sha256(m.getBody())));
                            sent.incrementAndGet();
                        } catch (Exception e) {
                            emitSendError(i, e);
                            failed.incrementAndGet();
                        }
                    }
                    break;
                case "batch":
                    for (long b = start; b < end; b += batchSize) {
                        long bEnd = Math.min(end, b + batchSize);
                        List<Message> msgs = new ArrayList<>();
                        for (long i = b; i < bEnd; i++) {
                            msgs.add(buildMessage(topic, runId, i, bodySize, tag));
                        }
                        try {
                            SendResult r = producer.send(msgs);
                            String[] ids = split(r.getMsgId(), msgs.size());
                            String[] offIds = split(r.getOffsetMsgId(), msgs.size());
                            for (int j = 0; j < msgs.size(); j++) {
                                Message m = msgs.get(j);
                                String id = ids != null ? ids[j] : MessageClientIDSetter.getUniqID(m);
                                emitSent(b + j, m, r, id, offIds != null ? offIds[j] : null,
                                    r.getQueueOffset() + j);
                                sent.incrementAndGet();
                            }
                        } catch (Exception e) {
                            for (long i = b; i < bEnd; i++) {
                                emitSendError(i, e);
                                failed.incrementAndGet();
                            }
                        }
                    }
                    break;
                case "async":
                    final int maxInFlight = 64;
                    final Semaphore inFlight = new Semaphore(maxInFlight);
                    // bound every wait: one send may take (retries+1) timeouts plus slack
                    final long waitMs = (long) sendTimeout * (retries + 1) + 30000L;
                    for (long i = start; i < end; i++) {
                        final long idx = i;
                        final Message m = buildMessage(topic, runId, i, bodySize, tag);
                        if (!inFlight.tryAcquire(waitMs, TimeUnit.MILLISECONDS)) {
                            throw new IllegalStateException("async send: no callback within " + waitMs + " ms");
                        }
                        try {
                            producer.send(m, new SendCallback() {
                                @Override
                                public void onSuccess(SendResult r) {
                                    try {
                                        emitSent(idx, m, r, r.getMsgId(), r.getOffsetMsgId(), r.getQueueOffset());
                                        sent.incrementAndGet();
                                    } finally {
                                        inFlight.release();
                                    }
                                }

                                @Override
                                public void onException(Throwable e) {
                                    try {
                                        emitSendError(idx, e);
                                        failed.incrementAndGet();
                                    } finally {
                                        inFlight.release();
                                    }
                                }
                            });
                        } catch (Exception e) {
                            // thrown synchronously (e.g. validation, client not running): no callback follows
                            emitSendError(idx, e);
                            failed.incrementAndGet();
                            inFlight.release();
                        }
                    }
                    if (!inFlight.tryAcquire(maxInFlight, waitMs, TimeUnit.MILLISECONDS)) {
                        throw new IllegalStateException("async send: callbacks still pending after " + waitMs + " ms");
                    }
                    break;
                default:
                    throw new AssertionError(mode);
            }
        } finally {
            shutdownBounded("producer", producer::shutdown);
        }
        emit(Json.event("done").num("sent", sent.get()).num("failed", failed.get()));
        return 0;
    }

    private static String[] split(String joined, int n) {
        if (joined == null) {
            return null;
        }
        String[] p = joined.split(",");
        return p.length == n ? p : null;
    }

    private static void emitSent(long idx, Message m, SendResult r, String msgId, String offsetMsgId,
        long queueOffset) {
        MessageQueue q = r.getMessageQueue();
        emit(Json.event("sent").num("index", idx)
            .str("status", r.getSendStatus() == null ? null : r.getSendStatus().name())
            .str("msgId", msgId)
            .str("offsetMsgId", offsetMsgId)
            .num("queueId", q == null ? null : Long.valueOf(q.getQueueId()))
            .num("queueOffset", queueOffset)
            .str("bodySha256", sha256(m.getBody())));
    }

    private static void emitSendError(long idx, Throwable e) {
        System.err.println("[driver] send " + idx + " failed: " + e);
        emit(Json.event("send-error").num("index", idx).str("error", describe(e)));
    }

    static Message buildMessage(String topic, String runId, long i, int bodySize, String tag) {
        Message m = new Message(topic, body(runId, i, bodySize));
        if (tag != null) {
            m.setTags(tag);
        }
        m.setKeys(Arrays.asList("key-" + runId + "-" + i, "k2-" + i));
        m.putUserProperty("idx", Long.toString(i));
        m.putUserProperty("runId", runId);
        m.putUserProperty("uprop", "v-\u00e9-" + i);
        m.setFlag((int) (i % 5));
        return m;
    }

    /** {@code R-i|} then b[k] = (k*7 + i) & 0xff, k = 0, 1, ... until bodySize bytes. */
    static byte[] body(String runId, long i, int bodySize) {
        byte[] prefix = (runId + "-" + i + "|").getBytes(StandardCharsets.UTF_8);
        byte[] b = new byte[Math.max(bodySize, prefix.length)];
        System.arraycopy(prefix, 0, b, 0, prefix.length);
        for (int k = 0; prefix.length + k < b.length; k++) {
            b[prefix.length + k] = (byte) ((k * 7L + i) & 0xff);
        }
        return b;
    }

    // ------------------------------------------------------------------------------------------
    // consume

    private static int consume(Args a) throws Exception {
        final String namesrv = a.req("namesrv");
        final String topic = a.req("topic");
        final String group = a.req("group");
        final String mode = a.req("mode");
        final String tagExpr = a.opt("tag-expr", "*");
        final String instance = a.opt("instance", "drv-c-" + pid());
        final long timeoutMs = a.longOpt("timeout-ms", 120000);
        a.checkAllUsed();

        final CountDownLatch stop = new CountDownLatch(1);
        final CountDownLatch finished = new CountDownLatch(1);
        final AtomicLong received = new AtomicLong();

        final Runnable shutdownFn;
        final java.util.function.Supplier<Set<String>> assignment;
        Thread pollThread = null;

        switch (mode) {
            case "push": {
                final DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
                c.setNamesrvAddr(namesrv);
                c.setInstanceName(instance);
                // MessageModel moved packages between 4.x and 5.x: rely on (and check) the CLUSTERING default
                requireClustering(String.valueOf(c.getMessageModel()));
                c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
                // shutdown() first lets in-flight listener calls finish (so no "received" follows "done" and
                // their offsets are committed), then persists offsets and unregisters
                c.setAwaitTerminationMillisWhenShutdown(10000);
                c.subscribe(topic, tagExpr);
                c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                    for (MessageExt m : msgs) {
                        emitReceived(instance, m);
                        received.incrementAndGet();
                    }
                    return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
                });
                c.start();
                shutdownFn = c::shutdown;
                assignment = () -> queues(c.getDefaultMQPushConsumerImpl().getRebalanceImpl()
                    .getProcessQueueTable().keySet(), topic);
                break;
            }
            case "litepull": {
                final DefaultLitePullConsumer c = new DefaultLitePullConsumer(group);
                c.setNamesrvAddr(namesrv);
                c.setInstanceName(instance);
                requireClustering(String.valueOf(c.getMessageModel()));
                c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
                c.setAutoCommit(true);
                c.subscribe(topic, tagExpr);
                c.start();
                pollThread = new Thread(() -> {
                    while (stop.getCount() > 0 && c.isRunning()) {
                        try {
                            List<MessageExt> msgs = c.poll(500);
                            for (MessageExt m : msgs) {
                                emitReceived(instance, m);
                                received.incrementAndGet();
                            }
                        } catch (Exception e) {
                            System.err.println("[driver] poll failed: " + e);
                            sleepQuietly(200);
                        }
                    }
                }, "driver-poll");
                pollThread.setDaemon(true);
                shutdownFn = () -> {
                    // auto-commit only commits on the next poll after autoCommitIntervalMillis; commit what
                    // was polled so far, then shutdown() persists the offsets to the broker.
                    c.commitSync();
                    c.shutdown();
                };
                assignment = () -> litePullAssignment(c, topic);
                break;
            }
            default:
                throw new UsageException("unknown --mode " + mode + " (push|litepull)");
        }
        final Thread poller = pollThread;

        emit(Json.event("ready"));
        if (poller != null) {
            poller.start();
        }

        // stdin: a line "stop" or EOF stops the consumer
        Thread stdin = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if ("stop".equals(line.trim())) {
                        break;
                    }
                }
            } catch (Exception e) {
                System.err.println("[driver] stdin: " + e);
            }
            stop.countDown();
        }, "driver-stdin");
        stdin.setDaemon(true);
        stdin.start();

        // SIGTERM / SIGINT: still shut down cleanly and print done (bounded)
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                finished.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }, "driver-shutdown-hook"));

        // report queue assignment changes on stderr (debug aid for rebalancing)
        Thread watcher = new Thread(() -> {
            Set<String> last = null;
            while (stop.getCount() > 0) {
                try {
                    Set<String> now = assignment.get();
                    if (!now.equals(last)) {
                        System.err.println("[driver] " + instance + " assigned " + now.size() + " queue(s): " + now);
                        last = now;
                    }
                } catch (Throwable ignored) {
                    // best effort only
                }
                try {
                    stop.await(500, TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "driver-assignment");
        watcher.setDaemon(true);
        watcher.start();

        if (!stop.await(timeoutMs, TimeUnit.MILLISECONDS)) {
            System.err.println("[driver] --timeout-ms " + timeoutMs + " reached, stopping");
        }
        stop.countDown();
        if (poller != null) {
            poller.join(5000);
        }
        shutdownBounded("consumer", shutdownFn);
        emit(Json.event("done").num("received", received.get()));
        out.flush();
        finished.countDown();
        return 0;
    }

    private static void requireClustering(String model) {
        if (!"CLUSTERING".equals(model)) {
            throw new IllegalStateException("expected CLUSTERING message model, client default is " + model);
        }
    }

    /** Debug aid only: the lite pull consumer exposes no rebalance state, so peek with reflection. */
    private static Set<String> litePullAssignment(DefaultLitePullConsumer c, String topic) {
        try {
            java.lang.reflect.Field f = DefaultLitePullConsumer.class.getDeclaredField("defaultLitePullConsumerImpl");
            f.setAccessible(true);
            Object impl = f.get(c);
            java.lang.reflect.Field rf = impl.getClass().getDeclaredField("rebalanceImpl");
            rf.setAccessible(true);
            Object reb = rf.get(impl);
            @SuppressWarnings("unchecked")
            Map<MessageQueue, ?> table = (Map<MessageQueue, ?>) reb.getClass().getMethod("getProcessQueueTable")
                .invoke(reb);
            return queues(table.keySet(), topic);
        } catch (Throwable t) {
            return new TreeSet<>();
        }
    }

    /** Queues of {@code topic} only (a push consumer also holds its group's %RETRY% queue). */
    private static Set<String> queues(Set<MessageQueue> mqs, String topic) {
        Set<String> s = new TreeSet<>();
        for (MessageQueue q : mqs) {
            if (topic.equals(q.getTopic())) {
                s.add(q.getBrokerName() + ":" + q.getTopic() + ":" + q.getQueueId());
            }
        }
        return s;
    }

    private static void emitReceived(String instance, MessageExt m) {
        Map<String, String> all = m.getProperties();
        Map<String, String> props = new LinkedHashMap<>();
        for (String k : new String[] {"idx", "runId", "uprop"}) {
            String v = all == null ? null : all.get(k);
            if (v != null) {
                props.put(k, v);
            }
        }
        Long index = null;
        try {
            if (props.get("idx") != null) {
                index = Long.parseLong(props.get("idx"));
            }
        } catch (NumberFormatException ignored) {
            index = null;
        }
        String uniq = MessageClientIDSetter.getUniqID(m);
        if (uniq == null) {
            uniq = m.getMsgId();
        }
        String offsetMsgId = m instanceof MessageClientExt ? ((MessageClientExt) m).getOffsetMsgId() : m.getMsgId();
        emit(Json.event("received").str("instance", instance).num("index", index).str("runId", props.get("runId"))
            .str("topic", m.getTopic()).num("queueId", m.getQueueId()).num("queueOffset", m.getQueueOffset())
            .str("msgId", uniq).str("offsetMsgId", offsetMsgId).str("tag", m.getTags()).str("keys", m.getKeys())
            .obj("props", props).num("flag", m.getFlag()).num("reconsumeTimes", m.getReconsumeTimes())
            .str("bodySha256", sha256(m.getBody())));
    }

    // ------------------------------------------------------------------------------------------
    // helpers

    static synchronized void emit(Json j) {
        byte[] line = (j.toString() + "\n").getBytes(StandardCharsets.UTF_8);
        out.write(line, 0, line.length);
        out.flush();
    }

    private static void shutdownBounded(String what, Runnable fn) {
        Thread t = new Thread(() -> {
            try {
                fn.run();
            } catch (Throwable e) {
                System.err.println("[driver] " + what + " shutdown failed: " + e);
            }
        }, "driver-" + what + "-shutdown");
        t.setDaemon(true);
        t.start();
        try {
            t.join(30000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (t.isAlive()) {
            System.err.println("[driver] " + what + " shutdown still running after 30 s; giving up");
        }
    }

    static String sha256(byte[] b) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(b == null ? new byte[0] : b);
            StringBuilder sb = new StringBuilder(64);
            for (byte x : d) {
                sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
            }
            return sb.toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String describe(Throwable t) {
        String msg = t.getMessage();
        String s = t.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
        Throwable c = t.getCause();
        if (c != null && c != t) {
            s += " (cause: " + c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage())
                + ")";
        }
        return s;
    }

    private static long pid() {
        String n = java.lang.management.ManagementFactory.getRuntimeMXBean().getName();
        int at = n.indexOf('@');
        try {
            return Long.parseLong(at > 0 ? n.substring(0, at) : n);
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static void sleepQuietly(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static final class UsageException extends Exception {
        private static final long serialVersionUID = 1L;

        UsageException(String m) {
            super(m);
        }
    }

    /** {@code --name value} pairs. */
    static final class Args {
        private final Map<String, String> values = new HashMap<>();
        private final Set<String> used = new TreeSet<>();

        static Args parse(String[] argv, int from) throws UsageException {
            Args a = new Args();
            for (int i = from; i < argv.length; i++) {
                String k = argv[i];
                if (!k.startsWith("--") || k.length() < 3) {
                    throw new UsageException("unexpected argument: " + k);
                }
                String name = k.substring(2);
                String v;
                int eq = name.indexOf('=');
                if (eq >= 0) {
                    v = name.substring(eq + 1);
                    name = name.substring(0, eq);
                } else {
                    if (i + 1 >= argv.length) {
                        throw new UsageException("missing value for " + k);
                    }
                    v = argv[++i];
                }
                a.values.put(name, v);
            }
            return a;
        }

        String opt(String name, String def) {
            used.add(name);
            String v = values.get(name);
            return v == null ? def : v;
        }

        String req(String name) throws UsageException {
            String v = opt(name, null);
            if (v == null || v.isEmpty()) {
                throw new UsageException("--" + name + " is required");
            }
            return v;
        }

        long longOpt(String name, long def) throws UsageException {
            String v = opt(name, null);
            if (v == null) {
                return def;
            }
            try {
                return Long.parseLong(v.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " expects an integer, got " + v);
            }
        }

        void checkAllUsed() throws UsageException {
            for (String k : values.keySet()) {
                if (!used.contains(k)) {
                    throw new UsageException("unknown option --" + k);
                }
            }
        }
    }
}
