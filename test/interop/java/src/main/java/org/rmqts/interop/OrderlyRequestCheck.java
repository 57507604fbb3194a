package org.rmqts.interop;

import static org.rmqts.interop.CheckSupport.emit;
import static org.rmqts.interop.CheckSupport.q;
import static org.rmqts.interop.CheckSupport.arg;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.ConsumeOrderlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.consumer.listener.MessageListenerOrderly;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.MessageQueueSelector;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.utils.MessageUtil;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * Ordered consumption and request/reply with the real remoting client, one JSON line per event:
 *
 *   orderly --namesrv A --topic T --group G --orders N --per-order M [--timeout-ms MS]
 *     consumer c1 (MessageListenerOrderly) starts; a producer sends sequence 0..M-1 of each of N
 *     orders through a MessageQueueSelector (queue = order % queues), and consumer c2 of the same
 *     group joins halfway while c1 still works through a backlog, so queues move between them
 *     under the broker's locks (c1 keeps a busy queue's lock for a while; c2 is refused until then). Emits
 *     {"event":"sent","order":o,"seq":s,"queueId":q} and, per consumed message,
 *     {"event":"consumed","consumer":"c1","queueId":q,"order":o,"seq":s,"startUs":..,"endUs":..}
 *     where [startUs, endUs] is the listener call that handled it (one clock for both consumers).
 *   request --namesrv A --topic T --group G --count K [--timeout-ms MS]
 *     a push consumer of G answers each message with MessageUtil.createReplyMessage + send; a
 *     requester calls producer.request(msg, timeout) K times and emits
 *     {"event":"reply","index":i,"body":..,"correlationId":..,"msgType":..,"rttMs":..}.
 * Ends with {"event":"done"} (exit 0) or {"event":"error",...} (exit 1).
 */
public final class OrderlyRequestCheck {
    private static final long BASE_NS = System.nanoTime();

    private OrderlyRequestCheck() {
    }

    private static long micros() {
        return (System.nanoTime() - BASE_NS) / 1000;
    }

    public static void main(String[] args) {
        Map<String, CheckSupport.Command> commands = new HashMap<>();
        commands.put("orderly", OrderlyRequestCheck::orderly);
        commands.put("request", OrderlyRequestCheck::request);
        CheckSupport.runCommand(args, "usage: orderly|request ...", commands);
    }

    private static DefaultMQPushConsumer orderlyConsumer(String namesrv, String group, String topic, String name,
        Set<String> distinct) throws Exception {
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName(name + "-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerOrderly) (msgs, ctx) -> {
            long start = micros();
            try {
                // Widen each listener call so a second consumer on the same queue would overlap.
                Thread.sleep(40);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            long end = micros();
            for (MessageExt m : msgs) {
                String order = m.getUserProperty("order");
                String seq = m.getUserProperty("seq");
                distinct.add(order + ":" + seq);
                emit("{\"event\":\"consumed\",\"consumer\":" + q(name) + ",\"queueId\":" + m.getQueueId() + ",\"order\":" + order
                    + ",\"seq\":" + seq + ",\"startUs\":" + start + ",\"endUs\":" + end + ",\"reconsumeTimes\":" + m.getReconsumeTimes() + "}");
            }
            return ConsumeOrderlyStatus.SUCCESS;
        });
        return c;
    }

    private static void orderly(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        String group = arg(args, "group", null);
        int orders = Integer.parseInt(arg(args, "orders", null));
        int perOrder = Integer.parseInt(arg(args, "per-order", null));
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "120000"));
        Set<String> distinct = ConcurrentHashMap.newKeySet();
        DefaultMQPushConsumer c1 = orderlyConsumer(namesrv, group, topic, "c1", distinct);
        DefaultMQPushConsumer c2 = orderlyConsumer(namesrv, group, topic, "c2", distinct);
        c1.start();
        Thread.sleep(3000);
        DefaultMQProducer p = new DefaultMQProducer("PG_orderly_" + System.currentTimeMillis());
        p.setNamesrvAddr(namesrv);
        p.start();
        MessageQueueSelector byOrder = (List<MessageQueue> mqs, Message msg, Object arg) -> mqs.get((Integer) arg % mqs.size());
        try {
            for (int seq = 0; seq < perOrder; seq++) {
                if (seq == perOrder / 2) {
                    c2.start();
                    emit("{\"event\":\"c2-started\",\"atUs\":" + micros() + "}");
                }
                for (int order = 0; order < orders; order++) {
                    Message msg = new Message(topic, "TagO", ("order-" + order + "-seq-" + seq).getBytes(StandardCharsets.UTF_8));
                    msg.putUserProperty("order", String.valueOf(order));
                    msg.putUserProperty("seq", String.valueOf(seq));
                    SendResult r = p.send(msg, byOrder, order);
                    emit("{\"event\":\"sent\",\"order\":" + order + ",\"seq\":" + seq + ",\"queueId\":" + r.getMessageQueue().getQueueId()
                        + ",\"status\":" + q(String.valueOf(r.getSendStatus())) + "}");
                }
                // A backlog builds on every queue, so c1 is busy with queues it must hand over to c2.
                Thread.sleep(10);
            }
            long deadline = System.currentTimeMillis() + timeoutMs;
            while (distinct.size() < orders * perOrder) {
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("consumed " + distinct.size() + " of " + orders * perOrder + " messages within " + timeoutMs + " ms");
                }
                Thread.sleep(100);
            }
            Thread.sleep(1000);
        } finally {
            p.shutdown();
            c2.shutdown();
            c1.shutdown();
        }
    }

    private static void request(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        String group = arg(args, "group", null);
        int count = Integer.parseInt(arg(args, "count", "3"));
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "10000"));
        DefaultMQProducer replier = new DefaultMQProducer("PG_replier_" + System.currentTimeMillis());
        replier.setNamesrvAddr(namesrv);
        replier.start();
        AtomicInteger replied = new AtomicInteger();
        DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
        c.setNamesrvAddr(namesrv);
        c.setInstanceName("responder-" + System.nanoTime());
        c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
        c.subscribe(topic, "*");
        c.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                try {
                    String body = new String(m.getBody(), StandardCharsets.UTF_8);
                    Message reply = MessageUtil.createReplyMessage(m, ("reply-to-" + body).getBytes(StandardCharsets.UTF_8));
                    SendResult r = replier.send(reply);
                    emit("{\"event\":\"replied\",\"body\":" + q(body) + ",\"replyTo\":" + q(MessageUtil.getReplyToClient(m))
                        + ",\"replyTopic\":" + q(reply.getTopic()) + ",\"status\":" + q(String.valueOf(r.getSendStatus())) + ",\"n\":" + replied.incrementAndGet() + "}");
                } catch (Exception e) {
                    emit("{\"event\":\"reply-failed\",\"error\":" + q(e.toString()) + "}");
                    return ConsumeConcurrentlyStatus.RECONSUME_LATER;
                }
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        });
        c.start();
        Thread.sleep(3000);
        DefaultMQProducer requester = new DefaultMQProducer("PG_requester_" + System.currentTimeMillis());
        requester.setNamesrvAddr(namesrv);
        requester.start();
        try {
            for (int i = 0; i < count; i++) {
                Message msg = new Message(topic, "TagReq", ("req-" + i).getBytes(StandardCharsets.UTF_8));
                long t0 = System.currentTimeMillis();
                Message reply = requester.request(msg, timeoutMs);
                if (reply == null) {
                    throw new IllegalStateException("request " + i + " returned no reply");
                }
                emit("{\"event\":\"reply\",\"index\":" + i + ",\"body\":" + q(new String(reply.getBody(), StandardCharsets.UTF_8))
                    + ",\"correlationId\":" + q(reply.getProperty("CORRELATION_ID")) + ",\"msgType\":" + q(reply.getProperty("MSG_TYPE"))
                    + ",\"requestCorrelationId\":" + q(msg.getProperty("CORRELATION_ID")) + ",\"replyTo\":" + q(reply.getProperty("REPLY_TO_CLIENT"))
                    + ",\"arriveTime\":" + q(reply.getProperty("ARRIVE_TIME")) + ",\"topic\":" + q(reply.getTopic())
                    + ",\"rttMs\":" + (System.currentTimeMillis() - t0) + "}");
            }
            TimeUnit.MILLISECONDS.sleep(500);
        } finally {
            requester.shutdown();
            c.shutdown();
            replier.shutdown();
        }
    }
}
