package org.rmqts.interop;

import static org.rmqts.interop.CheckSupport.emit;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.MessageSelector;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.exception.MQClientException;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * SQL92 filtering check with the real Java client (test/interop/sql92.test.ts). JSON lines on
 * stdout:
 *   produce NAMESRV TOPIC COUNT             message i has a=i, b=x (even i) or y, tag TagA|TagB
 *   consume NAMESRV TOPIC GROUP SQL WAIT_MS push consumer with MessageSelector.bySql(SQL) from the
 *                                           first offset; prints what arrives for WAIT_MS, or
 *                                           startFailed with the client's error
 */
public final class SqlFilterCheck {
    private SqlFilterCheck() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length >= 4 && "produce".equals(args[0])) {
            produce(args[1], args[2], Integer.parseInt(args[3]));
        } else if (args.length >= 6 && "consume".equals(args[0])) {
            consume(args[1], args[2], args[3], args[4], Long.parseLong(args[5]));
        } else {
            System.err.println("usage: produce NAMESRV TOPIC COUNT | consume NAMESRV TOPIC GROUP SQL WAIT_MS");
            System.exit(2);
        }
        System.exit(0);
    }

    private static void produce(String namesrv, String topic, int count) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer("SqlCheckPG");
        producer.setNamesrvAddr(namesrv);
        producer.setInstanceName("sql-p-" + System.nanoTime());
        // Generous: the interop tier shares a small machine with JVM start-up and other tests.
        producer.setSendMsgTimeout(15_000);
        producer.start();
        try {
            for (int i = 1; i <= count; i++) {
                Message m = new Message(topic, i % 2 == 0 ? "TagA" : "TagB", ("m" + i).getBytes("UTF-8"));
                m.putUserProperty("a", String.valueOf(i));
                m.putUserProperty("b", i % 2 == 0 ? "x" : "y");
                SendResult r = sendWithRetry(producer, m);
                if (r.getSendStatus() != SendStatus.SEND_OK) {
                    throw new IllegalStateException("send " + i + ": " + r.getSendStatus());
                }
                emit(Json.event("sent").num("index", i).str("msgId", r.getMsgId()));
            }
        } finally {
            producer.shutdown();
        }
        emit(Json.event("done"));
    }

    private static SendResult sendWithRetry(DefaultMQProducer producer, Message m) throws Exception {
        for (int attempt = 1; ; attempt++) {
            try {
                return producer.send(m);
            } catch (Exception e) {
                if (attempt >= 3) {
                    throw e;
                }
                emit(Json.event("sendRetry").str("error", String.valueOf(e.getMessage())));
                TimeUnit.SECONDS.sleep(1);
            }
        }
    }

    private static void consume(String namesrv, String topic, String group, String sql, long waitMs) throws Exception {
        DefaultMQPushConsumer c = null;
        // A JVM starting on a busy machine can miss the client's 3 s timeout on its first name
        // server request (start() then throws IllegalStateException): retry that, a bounded
        // number of times. Answers from the broker (MQClientException) are the result.
        for (int attempt = 1; c == null; attempt++) {
            DefaultMQPushConsumer candidate = newConsumer(namesrv, group);
            try {
                candidate.subscribe(topic, MessageSelector.bySql(sql));
                candidate.start();
                c = candidate;
            } catch (MQClientException e) {
                emit(Json.event("startFailed").num("responseCode", (long) e.getResponseCode()).str("error", String.valueOf(e.getMessage())));
                candidate.shutdown();
                return;
            } catch (IllegalStateException e) {
                candidate.shutdown();
                if (attempt >= 3) {
                    throw e;
                }
                emit(Json.event("startRetry").str("error", String.valueOf(e.getMessage())));
                TimeUnit.SECONDS.sleep(2);
            }
        }
        emit(Json.event("ready"));
        TimeUnit.MILLISECONDS.sleep(waitMs);
        c.shutdown();
        emit(Json.event("done"));
    }

    private static DefaultMQPushConsumer newConsumer(String namesrv, String group) {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("sql-c-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.registerMessageListener((MessageListenerConcurrently) (List<MessageExt> msgs, org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyContext ctx) -> {
            for (MessageExt m : msgs) {
                emit(Json.event("received").str("a", m.getUserProperty("a")).str("b", m.getUserProperty("b"))
                    .str("tag", m.getTags()).str("msgId", m.getMsgId()));
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        return c;
    }
}
