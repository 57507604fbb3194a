package org.rmqts.interop;

import static org.rmqts.interop.CheckSupport.emit;
import static org.rmqts.interop.CheckSupport.ownedQueues;
import static org.rmqts.interop.CheckSupport.q;
import static org.rmqts.interop.CheckSupport.arg;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Delayed messages and consume retry/DLQ with the real remoting client, one JSON line per event:
 *
 *   delay --namesrv A --topic T --level N [--timeout-ms MS]
 *   timer --namesrv A --topic T --delay-ms MS [--timeout-ms MS]   (5.x Message.setDeliverTimeMs)
 *     a push consumer on T, then a producer sends one message with setDelayTimeLevel(N);
 *     emits {"event":"sent","at":..} and {"event":"received","at":..,"delayLevelProp":..}.
 *   retry --namesrv A --topic T --group G --max-reconsume N [--timeout-ms MS]
 *     a push consumer (maxReconsumeTimes N) that always answers RECONSUME_LATER; emits
 *     {"event":"attempt","reconsumeTimes":k,"topic":..,"at":..} per delivery, then consumes
 *     %DLQ%G and emits {"event":"dlq","reconsumeTimes":..,"body":..,"retryTopic":..}.
 * Ends with {"event":"done"} (exit 0) or {"event":"error",...} (exit 1).
 */
public final class RetryDelayCheck {
    private RetryDelayCheck() {
    }

    public static void main(String[] args) {
        Map<String, CheckSupport.Command> commands = new HashMap<>();
        commands.put("delay", RetryDelayCheck::delay);
        commands.put("timer", RetryDelayCheck::delay);
        commands.put("retry", RetryDelayCheck::retry);
        CheckSupport.runCommand(args, "usage: delay|retry ...", commands);
    }

    private static DefaultMQPushConsumer consumer(String namesrv, String group, String topic) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(group + "-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        return c;
    }

    private static void delay(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        boolean timer = args[0].equals("timer");
        int level = timer ? 0 : Integer.parseInt(arg(args, "level", null));
        long timerDelayMs = timer ? Long.parseLong(arg(args, "delay-ms", null)) : 0;
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "60000"));
        CountDownLatch got = new CountDownLatch(1);
        DefaultMQPushConsumer c = consumer(namesrv, "CG_delay_" + System.currentTimeMillis(), topic);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                emit("{\"event\":\"received\",\"at\":" + System.currentTimeMillis() + ",\"body\":" + q(new String(m.getBody(), StandardCharsets.UTF_8))
                    + ",\"delayLevelProp\":" + q(m.getProperty("DELAY")) + ",\"realTopic\":" + q(m.getProperty("REAL_TOPIC"))
                    + ",\"timerOutMs\":" + q(m.getProperty("TIMER_OUT_MS")) + ",\"deliverMs\":" + q(m.getProperty("TIMER_DELIVER_MS"))
                    + ",\"storeTimestamp\":" + m.getStoreTimestamp() + ",\"bornTimestamp\":" + m.getBornTimestamp() + "}");
                got.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        // The consumer must own the topic's queues before the send, or the measured delay would
        // include its rebalance (up to 20 s when the first round comes too early).
        awaitAssignment(c, topic, 30000);
        DefaultMQProducer p = new DefaultMQProducer("PG_delay_" + System.currentTimeMillis());
        p.setNamesrvAddr(namesrv);
        p.start();
        try {
            Message msg = new Message(topic, "TagD", "delayed-body".getBytes(StandardCharsets.UTF_8));
            long at = System.currentTimeMillis();
            if (timer) {
                // Message.setDeliverTimeMs is 5.x API; this class also compiles against 4.9.x.
                Message.class.getMethod("setDeliverTimeMs", long.class).invoke(msg, at + timerDelayMs);
            } else {
                msg.setDelayTimeLevel(level);
            }
            SendResult r = p.send(msg);
            emit("{\"event\":\"sent\",\"at\":" + at + ",\"status\":" + q(String.valueOf(r.getSendStatus())) + "}");
            if (!got.await(timeoutMs, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("delayed message not received within " + timeoutMs + " ms");
            }
        } finally {
            p.shutdown();
            c.shutdown();
        }
    }

    private static void awaitAssignment(DefaultMQPushConsumer c, String topic, long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        for (;;) {
            int owned = ownedQueues(c, topic);
            if (owned > 0) {
                emit("{\"event\":\"assigned\",\"queues\":" + owned + ",\"at\":" + System.currentTimeMillis() + "}");
                // A client race (with any broker): the rebalance bumps the subscription version and
                // its heartbeat is skipped when the periodic heartbeat holds the lock at that moment,
                // so pulls get SUBSCRIPTION_NOT_LATEST until the next heartbeat, 30 s later. Send the
                // heartbeat the client would send eventually (tryLock inside, hence a few times).
                for (int i = 0; i < 3; i++) {
                    Thread.sleep(150);
                    c.getDefaultMQPushConsumerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
                }
                return;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("consumer owned no queue of " + topic + " after " + timeoutMs + " ms");
            }
            Thread.sleep(50);
        }
    }

    private static void retry(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        String group = arg(args, "group", null);
        int max = Integer.parseInt(arg(args, "max-reconsume", null));
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "90000"));
        CountDownLatch lastAttempt = new CountDownLatch(1);
        DefaultMQPushConsumer c = consumer(namesrv, group, topic);
        c.setMaxReconsumeTimes(max);
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                emit("{\"event\":\"attempt\",\"at\":" + System.currentTimeMillis() + ",\"reconsumeTimes\":" + m.getReconsumeTimes()
                    + ",\"topic\":" + q(m.getTopic()) + ",\"msgId\":" + q(m.getMsgId()) + "}");
                if (m.getReconsumeTimes() >= max) {
                    lastAttempt.countDown();
                }
            }
            return ConsumeConcurrentlyStatus.RECONSUME_LATER;
        });
        c.start();
        Thread.sleep(3000);
        DefaultMQProducer p = new DefaultMQProducer("PG_retry_" + System.currentTimeMillis());
        p.setNamesrvAddr(namesrv);
        p.start();
        try {
            SendResult r = p.send(new Message(topic, "TagR", "retry-body".getBytes(StandardCharsets.UTF_8)));
            emit("{\"event\":\"sent\",\"at\":" + System.currentTimeMillis() + ",\"msgId\":" + q(r.getMsgId()) + "}");
            if (!lastAttempt.await(timeoutMs, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("attempt with reconsumeTimes " + max + " not seen within " + timeoutMs + " ms");
            }
            // The last RECONSUME_LATER sends it to the DLQ; give the send-back a moment.
            Thread.sleep(2000);
        } finally {
            p.shutdown();
            c.shutdown();
        }
        CountDownLatch dead = new CountDownLatch(1);
        AtomicInteger seen = new AtomicInteger();
        DefaultMQPushConsumer d = consumer(namesrv, group + "_dlq_reader", "%DLQ%" + group);
        d.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                Map<String, String> props = m.getProperties();
                emit("{\"event\":\"dlq\",\"reconsumeTimes\":" + m.getReconsumeTimes() + ",\"body\":" + q(new String(m.getBody(), StandardCharsets.UTF_8))
                    + ",\"topic\":" + q(m.getTopic()) + ",\"retryTopic\":" + q(props.get("RETRY_TOPIC")) + ",\"n\":" + seen.incrementAndGet() + "}");
                dead.countDown();
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        d.start();
        try {
            if (!dead.await(timeoutMs, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("nothing in %DLQ%" + group + " within " + timeoutMs + " ms");
            }
            Thread.sleep(1000);
        } finally {
            d.shutdown();
        }
    }
}
