package org.rmqts.interop;

import static org.rmqts.interop.CheckSupport.emit;

import java.nio.charset.StandardCharsets;
import java.text.SimpleDateFormat;
import java.util.Date;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.QueryResult;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.client.trace.TraceBean;
import org.apache.rocketmq.client.trace.TraceContext;
import org.apache.rocketmq.client.trace.TraceDataEncoder;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Message query and trace checks with the real Java client (test/interop/query-trace.test.ts).
 * JSON lines on stdout:
 *   keys NAMESRV TOPIC RUNID COUNT      sends COUNT messages with keys "K-RUNID-i S-RUNID", then
 *                                       queries them by key (queryMessage), views each by its offset
 *                                       msg id and by its unique id (viewMessage), queries a missing key
 *   fromtime NAMESRV TOPIC GROUP TS WAIT_MS   push consumer CONSUME_FROM_TIMESTAMP at TS
 *                                       (yyyyMMddHHmmss); prints searchOffset per queue and what arrives
 *                                       until stdin says "stop" or WAIT_MS pass
 *   trace NAMESRV TOPIC PGROUP CGROUP WAIT_MS  traced producer and consumer (enableMsgTrace) exchange one
 *                                       message; then the trace topic is queried by the message id, as
 *                                       mqadmin queryMsgTraceById does, until Pub and SubAfter are found
 *                                       or WAIT_MS pass
 */
public final class QueryTraceCheck {
    private static final String TRACE_TOPIC = "RMQ_SYS_TRACE_TOPIC";

    private QueryTraceCheck() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 5 && "keys".equals(args[0])) {
            keys(args[1], args[2], args[3], Integer.parseInt(args[4]));
        } else if (args.length >= 6 && "fromtime".equals(args[0])) {
            fromTime(args[1], args[2], args[3], args[4], Long.parseLong(args[5]));
        } else if (args.length >= 6 && "trace".equals(args[0])) {
            trace(args[1], args[2], args[3], args[4], Long.parseLong(args[5]));
        } else {
            System.err.println("usage: keys NAMESRV TOPIC RUNID COUNT | fromtime NAMESRV TOPIC GROUP TS WAIT_MS | trace NAMESRV TOPIC PGROUP CGROUP WAIT_MS");
            System.exit(2);
        }
        System.exit(0);
    }

    private static DefaultMQProducer producer(String namesrv, String group, boolean trace) throws MQClientException {
        DefaultMQProducer p = new DefaultMQProducer(group, trace, null);
        p.setNamesrvAddr(namesrv);
        p.setInstanceName("qt-p-" + System.nanoTime());
        p.setSendMsgTimeout(15_000);
        p.start();
        return p;
    }

    private static SendResult send(DefaultMQProducer p, Message m) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                SendResult r = p.send(m);
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    throw new IllegalStateException("send: " + r.getSendStatus());
                }
                return r;
            } catch (Exception e) {
                if (attempt >= 3) {
                    throw e;
                }
                TimeUnit.SECONDS.sleep(1);
            }
        }
    }

    private static String ids(QueryResult r) {
        StringBuilder sb = new StringBuilder();
        for (MessageExt m : r.getMessageList()) {
            sb.append(sb.length() == 0 ? "" : ",").append(m.getMsgId());
        }
        return sb.toString();
    }

    private static void keys(String namesrv, String topic, String runId, int count) throws Exception {
        DefaultMQProducer p = producer(namesrv, "QueryCheckPG", false);
        try {
            String[] msgIds = new String[count];
            String[] offsetMsgIds = new String[count];
            for (int i = 0; i < count; i++) {
                Message m = new Message(topic, "TagQ", ("q" + i).getBytes(StandardCharsets.UTF_8));
                m.setKeys("K-" + runId + "-" + i + " S-" + runId);
                SendResult r = send(p, m);
                msgIds[i] = r.getMsgId();
                offsetMsgIds[i] = r.getOffsetMsgId();
                emit(Json.event("sent").num("index", i).str("msgId", r.getMsgId()).str("offsetMsgId", r.getOffsetMsgId()));
            }
            for (int i = 0; i < count; i++) {
                QueryResult r = p.queryMessage(topic, "K-" + runId + "-" + i, 32, 0, Long.MAX_VALUE);
                String bodies = "";
                for (MessageExt m : r.getMessageList()) {
                    bodies += (bodies.isEmpty() ? "" : ",") + new String(m.getBody(), StandardCharsets.UTF_8);
                }
                emit(Json.event("byKey").num("index", i).str("msgIds", ids(r)).str("bodies", bodies)
                    .num("indexLastUpdateTimestamp", r.getIndexLastUpdateTimestamp()));
            }
            QueryResult shared = p.queryMessage(topic, "S-" + runId, 64, 0, System.currentTimeMillis() + 60_000);
            emit(Json.event("byShared").num("count", shared.getMessageList().size()).str("msgIds", ids(shared)));
            for (int i = 0; i < count; i++) {
                MessageExt m = p.viewMessage(topic, offsetMsgIds[i]);
                emit(Json.event("viewedByOffset").num("index", i).str("msgId", m.getMsgId()).str("body", new String(m.getBody(), StandardCharsets.UTF_8))
                    .num("commitLogOffset", m.getCommitLogOffset()));
            }
            for (int i = 0; i < count; i++) {
                // viewMessage(topic, id): an offset msg id is read by commit-log offset
                // (VIEW_MESSAGE_BY_ID), a unique id is queried through the index (QUERY_MESSAGE).
                MessageExt m = p.viewMessage(topic, msgIds[i]);
                emit(Json.event("viewed").num("index", i).str("msgId", m.getMsgId()).str("body", new String(m.getBody(), StandardCharsets.UTF_8))
                    .str("keys", m.getKeys()));
            }
            try {
                QueryResult none = p.queryMessage(topic, "K-" + runId + "-missing", 32, 0, Long.MAX_VALUE);
                emit(Json.event("missing").num("count", none.getMessageList().size()));
            } catch (MQClientException e) {
                emit(Json.event("missing").num("responseCode", (long) e.getResponseCode()).str("error", String.valueOf(e.getErrorMessage())));
            }
        } finally {
            p.shutdown();
        }
        emit(Json.event("done"));
    }

    private static void fromTime(String namesrv, String topic, String group, String ts, long waitMs) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("qt-c-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_TIMESTAMP);
        c.setConsumeTimestamp(ts);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                emit(Json.event("received").str("body", new String(m.getBody(), StandardCharsets.UTF_8)).num("queueId", (long) m.getQueueId())
                    .num("queueOffset", m.getQueueOffset()));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        long at = new SimpleDateFormat("yyyyMMddHHmmss").parse(ts).getTime();
        for (MessageQueue mq : c.fetchSubscribeMessageQueues(topic)) {
            emit(Json.event("searchOffset").num("queueId", (long) mq.getQueueId()).num("offset", c.searchOffset(mq, at)));
        }
        emit(Json.event("ready"));
        waitForStop(waitMs);
        c.shutdown();
        emit(Json.event("done"));
    }

    /** Returns when stdin says "stop" (or ends), or after waitMs. */
    private static void waitForStop(long waitMs) throws InterruptedException {
        CountDownLatch stop = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try {
                java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, StandardCharsets.UTF_8));
                for (String line; (line = in.readLine()) != null; ) {
                    if ("stop".equals(line.trim())) {
                        break;
                    }
                }
            } catch (java.io.IOException ignored) {
                // stdin gone: stop
            }
            stop.countDown();
        });
        reader.setDaemon(true);
        reader.start();
        stop.await(waitMs, TimeUnit.MILLISECONDS);
    }

    private static void trace(String namesrv, String topic, String pGroup, String cGroup, long waitMs) throws Exception {
        CountDownLatch consumed = new CountDownLatch(1);
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(cGroup, true, null);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("qt-tc-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            consumed.countDown();
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        DefaultMQProducer p = producer(namesrv, pGroup, true);
        try {
            Message m = new Message(topic, "TagT", "traced".getBytes(StandardCharsets.UTF_8));
            m.setKeys("TK-" + System.nanoTime());
            SendResult r = send(p, m);
            String msgId = r.getMsgId();
            emit(Json.event("sent").str("msgId", msgId).str("keys", m.getKeys()));
            // The first rebalance of a new group can take a while on a busy machine.
            if (!consumed.await(60_000, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("the traced message was not consumed within 60 s");
            }
            emit(Json.event("consumed"));
            // What mqadmin queryMsgTraceById does: QUERY_MESSAGE on the trace topic, key = msgId.
            Set<String> types = new HashSet<>();
            long deadline = System.currentTimeMillis() + waitMs;
            while (!(types.contains("Pub") && types.contains("SubAfter")) && System.currentTimeMillis() < deadline) {
                TimeUnit.MILLISECONDS.sleep(500);
                QueryResult q;
                try {
                    q = p.queryMessage(TRACE_TOPIC, msgId, 64, 0, System.currentTimeMillis() + 60_000);
                } catch (MQClientException e) {
                    continue; // not written yet: the trace dispatcher batches
                }
                types.clear();
                for (MessageExt traceMsg : q.getMessageList()) {
                    List<TraceContext> contexts = TraceDataEncoder.decoderFromTraceDataString(new String(traceMsg.getBody(), StandardCharsets.UTF_8));
                    for (TraceContext tc : contexts) {
                        for (TraceBean b : tc.getTraceBeans()) {
                            if (!msgId.equals(b.getMsgId())) {
                                continue;
                            }
                            types.add(tc.getTraceType().name());
                            emit(Json.event("trace").str("type", tc.getTraceType().name()).str("group", tc.getGroupName())
                                .str("topic", b.getTopic()).str("msgId", b.getMsgId()).str("keys", b.getKeys())
                                .str("traceTopic", traceMsg.getTopic()));
                        }
                    }
                }
            }
            emit(Json.event("traceTypes").str("types", String.join(",", new java.util.TreeSet<>(types))).num("at", new Date().getTime()));
        } finally {
            p.shutdown();
            c.shutdown();
        }
        emit(Json.event("done"));
    }
}
