package org.rmqts.interop;

import static org.rmqts.interop.CheckSupport.emit;
import static org.rmqts.interop.CheckSupport.ownedQueues;
import static org.rmqts.interop.CheckSupport.arg;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Collections;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Broadcasting next to clustering, one JSON line per consumer at the end:
 *
 *   broadcast --namesrv A --topic T --count N [--timeout-ms MS]
 *     two BROADCASTING push consumers of one group and two CLUSTERING push consumers of another;
 *     N messages sent; every broadcasting consumer must see all N, the clustering group all N
 *     between its two members. Emits {"event":"consumer","group":..,"model":..,"instance":..,
 *     "distinct":k,"total":t,"ids":[..]} per consumer, then {"event":"done"} (exit 0) or
 *     {"event":"error",...} (exit 1).
 */
public final class BroadcastCheck {
    private BroadcastCheck() {
    }

    private static final class Member {
        final String group;
        final String model;
        final String instance;
        final DefaultMQPushConsumer consumer;
        final Set<String> ids = ConcurrentHashMap.newKeySet();
        final AtomicInteger total = new AtomicInteger();

        Member(String namesrv, String group, boolean broadcasting, String instance, String topic) throws Exception {
            this.group = group;
            this.model = broadcasting ? "BROADCASTING" : "CLUSTERING";
            this.instance = instance;
            consumer = new DefaultMQPushConsumer(group);
            consumer.setNamesrvAddr(namesrv);
            consumer.setInstanceName(instance);
            consumer.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
            if (broadcasting) {
                // MessageModel moved packages between 4.x and 5.x: set it by reflection.
                Class<?> mm = consumer.getMessageModel().getClass();
                Object value = mm.getMethod("valueOf", String.class).invoke(null, "BROADCASTING");
                consumer.getClass().getMethod("setMessageModel", mm).invoke(consumer, value);
            }
            consumer.subscribe(topic, "*");
            consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
                for (MessageExt m : msgs) {
                    ids.add(m.getMsgId());
                    total.incrementAndGet();
                }
                return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
            });
        }

        int owned(String topic) {
            return ownedQueues(consumer, topic);
        }

        String json() {
            StringBuilder b = new StringBuilder("{\"event\":\"consumer\",\"group\":\"" + group + "\",\"model\":\"" + model
                + "\",\"instance\":\"" + instance + "\",\"distinct\":" + ids.size() + ",\"total\":" + total.get() + ",\"ids\":[");
            boolean first = true;
            for (String id : ids) {
                b.append(first ? "" : ",").append('"').append(id).append('"');
                first = false;
            }
            return b.append("]}").toString();
        }
    }

    public static void main(String[] args) {
        CheckSupport.runCommand(args, "usage: broadcast --namesrv A --topic T --count N",
            Collections.<String, CheckSupport.Command>singletonMap("broadcast", BroadcastCheck::run));
    }

    private static void run(String[] args) throws Exception {
        String namesrv = arg(args, "namesrv", null);
        String topic = arg(args, "topic", null);
        int count = Integer.parseInt(arg(args, "count", null));
        long timeoutMs = Long.parseLong(arg(args, "timeout-ms", "60000"));
        // Broadcasting offsets live in local files: keep them out of the user's home.
        System.setProperty("rocketmq.client.localOffsetStoreDir", Files.createTempDirectory("bc-offsets").toString());
        long stamp = System.currentTimeMillis();
        String bcGroup = "CG_bc_" + stamp;
        String clGroup = "CG_cl_" + stamp;
        Member[] members = {
            new Member(namesrv, bcGroup, true, "bc-a-" + stamp, topic),
            new Member(namesrv, bcGroup, true, "bc-b-" + stamp, topic),
            new Member(namesrv, clGroup, false, "cl-a-" + stamp, topic),
            new Member(namesrv, clGroup, false, "cl-b-" + stamp, topic),
        };
        for (Member m : members) {
            m.consumer.start();
        }
        try {
            long deadline = System.currentTimeMillis() + 30000;
            // Broadcasting members own every queue; clustering members split them.
            while (true) {
                int bc = members[0].owned(topic) + members[1].owned(topic);
                int cl = members[2].owned(topic) + members[3].owned(topic);
                int queues = members[0].owned(topic);
                if (queues > 0 && members[1].owned(topic) == queues && cl == queues && members[2].owned(topic) > 0 && members[3].owned(topic) > 0) {
                    emit("{\"event\":\"assigned\",\"queues\":" + queues + ",\"broadcastingOwned\":" + bc + ",\"clusteringOwned\":" + cl + "}");
                    break;
                }
                if (System.currentTimeMillis() > deadline) {
                    throw new IllegalStateException("queues not assigned in time: bc " + members[0].owned(topic) + "/" + members[1].owned(topic)
                        + " cl " + members[2].owned(topic) + "/" + members[3].owned(topic));
                }
                Thread.sleep(100);
            }
            // The client may skip the heartbeat carrying its post-rebalance subscription version
            // (lock race); send it now rather than wait 30 s for the periodic one.
            for (int i = 0; i < 3; i++) {
                Thread.sleep(150);
                for (Member m : members) {
                    m.consumer.getDefaultMQPushConsumerImpl().getmQClientFactory().sendHeartbeatToAllBrokerWithLock();
                }
            }
            DefaultMQProducer p = new DefaultMQProducer("PG_bc_" + stamp);
            p.setNamesrvAddr(namesrv);
            p.start();
            try {
                for (int i = 0; i < count; i++) {
                    SendResult r = p.send(new Message(topic, "TagB", ("bc-" + i).getBytes(StandardCharsets.UTF_8)));
                    if (r.getSendStatus() != SendStatus.SEND_OK) {
                        throw new IllegalStateException("send " + i + ": " + r.getSendStatus());
                    }
                }
            } finally {
                p.shutdown();
            }
            long end = System.currentTimeMillis() + timeoutMs;
            while (System.currentTimeMillis() < end) {
                boolean all = members[0].ids.size() >= count && members[1].ids.size() >= count
                    && members[2].ids.size() + members[3].ids.size() >= count;
                if (all) {
                    break;
                }
                Thread.sleep(100);
            }
            // Let duplicates, if any, show up.
            Thread.sleep(1000);
            for (Member m : members) {
                emit(m.json());
            }
        } finally {
            for (Member m : members) {
                m.consumer.shutdown();
            }
        }
    }
}
