package org.rmqts.bench;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.HdrHistogram.Recorder;
import org.apache.rocketmq.client.consumer.DefaultMQPushConsumer;
import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.SendStatus;
import org.apache.rocketmq.common.consumer.ConsumeFromWhere;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/**
 * Latency load generator for `npm run bench` (same program against both brokers).
 *
 * <pre>
 *   LoadClient latency -n NS -t TOPIC -s SIZE -r RATE -d SECONDS -W WARMUP_SECONDS [-q MAX]
 *   LoadClient e2e     -n NS -t TOPIC -s SIZE -r RATE -d SECONDS -W WARMUP_SECONDS [-q MAX] -g GROUP
 *   LoadClient backlog -n NS -t TOPIC -s SIZE -q COUNT -d MAX_SECONDS -g GROUP
 * </pre>
 *
 * latency: open-loop async sends at a fixed offered rate; send latency is measured from the
 * message's scheduled send time (so a stalled broker cannot hide queueing: no coordinated
 * omission) to the send callback, in microseconds, into an HdrHistogram.
 * e2e: the same sender plus a push consumer in this JVM; born-to-consume latency is the consume
 * time minus the scheduled send time carried in the body (System.nanoTime, same JVM).
 * backlog: sends COUNT messages as fast as 2000 in-flight async sends allow, then starts a new
 * consumer group from the first offset and times the drain.
 *
 * stdout carries one JSON object per line: {"event":"phase",...} marks and a final
 * {"event":"result",...} with histograms as [[valueUs,count],...] (HdrHistogram recorded values)
 * so the harness can merge runs. Every loop is bounded by time and by count.
 */
public final class LoadClient {
  private static final long HIGHEST_US = TimeUnit.SECONDS.toMicros(60);
  private static final int MAX_IN_FLIGHT = 2000;

  private LoadClient() {
  }

  public static void main(String[] argv) throws Exception {
    if (argv.length < 1) {
      usage("missing mode");
    }
    String mode = argv[0];
    Map<String, String> o = parse(argv);
    String ns = req(o, "n");
    String topic = req(o, "t");
    int size = Integer.parseInt(o.getOrDefault("s", "1024"));
    if (size < 16) {
      usage("-s must be at least 16 bytes (the body carries a timestamp)");
    }
    switch (mode) {
      case "latency":
      case "e2e":
        paced(mode, ns, topic, size, o);
        break;
      case "backlog":
        backlog(ns, topic, size, o);
        break;
      default:
        usage("unknown mode " + mode);
    }
    System.exit(0);
  }

  private static void paced(String mode, String ns, String topic, int size, Map<String, String> o) throws Exception {
    double rate = Double.parseDouble(req(o, "r"));
    double seconds = Double.parseDouble(req(o, "d"));
    double warmup = Double.parseDouble(o.getOrDefault("W", "2"));
    long max = Long.parseLong(o.getOrDefault("q", "10000000"));
    if (rate <= 0 || seconds <= 0) {
      usage("-r and -d must be positive");
    }
    boolean e2e = mode.equals("e2e");
    final Recorder sendRec = new Recorder(HIGHEST_US, 3);
    final Recorder b2cRec = new Recorder(HIGHEST_US, 3);
    final AtomicLong ok = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    final AtomicLong notOk = new AtomicLong();
    final AtomicLong received = new AtomicLong();
    final AtomicLong receivedMeasured = new AtomicLong();

    DefaultMQPushConsumer consumer = null;
    if (e2e) {
      consumer = newConsumer(ns, topic, req(o, "g"), 8);
      consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
        long now = System.nanoTime();
        for (MessageExt m : msgs) {
          ByteBuffer b = ByteBuffer.wrap(m.getBody());
          long scheduled = b.getLong(0);
          boolean measured = b.get(8) == 1;
          received.incrementAndGet();
          if (measured) {
            receivedMeasured.incrementAndGet();
            b2cRec.recordValue(clamp((now - scheduled) / 1000));
          }
        }
        return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
      });
      consumer.start();
      phase("consumer-started");
    }

    DefaultMQProducer producer = newProducer(ns);
    producer.start();
    // route lookup and connection set-up outside the measurement
    Message probe = new Message(topic, body(size, System.nanoTime(), false));
    producer.send(probe, 5000);
    phase("producer-started");

    final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    long intervalNs = (long) (1e9 / rate);
    long start = System.nanoTime();
    long warmEnd = start + (long) (warmup * 1e9);
    long end = warmEnd + (long) (seconds * 1e9);
    long sent = 0;
    long sentMeasured = 0;
    long dropped = 0;
    boolean measuring = false;
    long measureStartMs = 0;
    while (sent < max) {
      final long due = start + sent * intervalNs;
      if (due >= end) {
        break;
      }
      long now = System.nanoTime();
      if (due > now) {
        LockSupport.parkNanos(due - now);
        continue;
      }
      final boolean measured = due >= warmEnd;
      if (measured && !measuring) {
        measuring = true;
        sendRec.reset();
        measureStartMs = System.currentTimeMillis();
        phase("measure-start");
      }
      if (!inFlight.tryAcquire()) {
        // the client cannot keep more in flight: count it as lost offered load, keep the schedule
        dropped++;
        sent++;
        continue;
      }
      Message m = new Message(topic, body(size, due, measured));
      try {
        producer.send(m, new SendCallback() {
          @Override
          public void onSuccess(SendResult r) {
            long lat = (System.nanoTime() - due) / 1000;
            if (r.getSendStatus() == SendStatus.SEND_OK) {
              ok.incrementAndGet();
            } else {
              notOk.incrementAndGet();
            }
            if (measured) {
              sendRec.recordValue(clamp(lat));
            }
            inFlight.release();
          }

          @Override
          public void onException(Throwable e) {
            failed.incrementAndGet();
            inFlight.release();
          }
        }, 5000);
      } catch (Exception e) {
        failed.incrementAndGet();
        inFlight.release();
      }
      sent++;
      if (measured) {
        sentMeasured++;
      }
    }
    long measureEndMs = System.currentTimeMillis();
    phase("measure-end");
    // bounded wait for outstanding sends
    inFlight.tryAcquire(MAX_IN_FLIGHT, 10, TimeUnit.SECONDS);
    Histogram send = sendRec.getIntervalHistogram();
    Histogram b2c = null;
    if (e2e) {
      long deadline = System.currentTimeMillis() + 10_000;
      while (receivedMeasured.get() < sentMeasured && System.currentTimeMillis() < deadline) {
        Thread.sleep(20);
      }
      b2c = b2cRec.getIntervalHistogram();
      consumer.shutdown();
    }
    producer.shutdown();
    StringBuilder sb = new StringBuilder();
    sb.append("{\"event\":\"result\",\"mode\":\"").append(e2e ? "e2e" : "latency").append('"')
      .append(",\"offeredRate\":").append(rate)
      .append(",\"sent\":").append(sent)
      .append(",\"sentMeasured\":").append(sentMeasured)
      .append(",\"ok\":").append(ok.get())
      .append(",\"notOk\":").append(notOk.get())
      .append(",\"failed\":").append(failed.get())
      .append(",\"dropped\":").append(dropped)
      .append(",\"measureStartMs\":").append(measureStartMs)
      .append(",\"measureEndMs\":").append(measureEndMs)
      .append(",\"send\":");
    hist(sb, send);
    if (b2c != null) {
      sb.append(",\"received\":").append(received.get())
        .append(",\"receivedMeasured\":").append(receivedMeasured.get())
        .append(",\"b2c\":");
      hist(sb, b2c);
    }
    sb.append('}');
    System.out.println(sb);
  }

  private static void backlog(String ns, String topic, int size, Map<String, String> o) throws Exception {
    final long count = Long.parseLong(req(o, "q"));
    double maxSeconds = Double.parseDouble(o.getOrDefault("d", "60"));
    long deadline = System.currentTimeMillis() + (long) (maxSeconds * 1000);
    DefaultMQProducer producer = newProducer(ns);
    producer.start();
    producer.send(new Message(topic, body(size, System.nanoTime(), false)), 5000);
    final Semaphore inFlight = new Semaphore(MAX_IN_FLIGHT);
    final AtomicLong ok = new AtomicLong();
    final AtomicLong failed = new AtomicLong();
    long produceStartMs = System.currentTimeMillis();
    phase("produce-start");
    long sent = 0;
    while (sent < count && System.currentTimeMillis() < deadline) {
      if (!inFlight.tryAcquire(100, TimeUnit.MILLISECONDS)) {
        continue;
      }
      try {
        producer.send(new Message(topic, body(size, System.nanoTime(), false)), new SendCallback() {
          @Override
          public void onSuccess(SendResult r) {
            ok.incrementAndGet();
            inFlight.release();
          }

          @Override
          public void onException(Throwable e) {
            failed.incrementAndGet();
            inFlight.release();
          }
        }, 5000);
      } catch (Exception e) {
        failed.incrementAndGet();
        inFlight.release();
      }
      sent++;
    }
    inFlight.tryAcquire(MAX_IN_FLIGHT, 10, TimeUnit.SECONDS);
    long produceEndMs = System.currentTimeMillis();
    phase("produce-end");
    producer.shutdown();
    // +1: the probe message sent before the timed loop is in the backlog too
    final long expected = ok.get() + 1;
    final AtomicLong received = new AtomicLong();
    final CountDownLatch all = new CountDownLatch(1);
    final AtomicLong lastMs = new AtomicLong();
    DefaultMQPushConsumer consumer = newConsumer(ns, topic, req(o, "g"), 16);
    consumer.registerMessageListener((MessageListenerConcurrently) (msgs, ctx) -> {
      if (received.addAndGet(msgs.size()) >= expected) {
        lastMs.compareAndSet(0, System.currentTimeMillis());
        all.countDown();
      }
      return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
    });
    long consumeStartMs = System.currentTimeMillis();
    phase("consume-start");
    consumer.start();
    long wait = Math.max(1000, deadline - System.currentTimeMillis()) + 30_000;
    all.await(wait, TimeUnit.MILLISECONDS);
    long consumeEndMs = lastMs.get() != 0 ? lastMs.get() : System.currentTimeMillis();
    phase("consume-end");
    consumer.shutdown();
    System.out.println("{\"event\":\"result\",\"mode\":\"backlog\",\"sent\":" + sent + ",\"ok\":" + ok.get()
        + ",\"failed\":" + failed.get() + ",\"expected\":" + expected + ",\"received\":" + received.get()
        + ",\"produceStartMs\":" + produceStartMs + ",\"produceEndMs\":" + produceEndMs
        + ",\"consumeStartMs\":" + consumeStartMs + ",\"consumeEndMs\":" + consumeEndMs + "}");
  }

  private static DefaultMQProducer newProducer(String ns) {
    DefaultMQProducer p = new DefaultMQProducer("bench_load_producer");
    p.setNamesrvAddr(ns);
    p.setInstanceName("load-" + System.nanoTime());
    p.setCompressMsgBodyOverHowmuch(Integer.MAX_VALUE);
    p.setRetryTimesWhenSendAsyncFailed(0);
    p.setSendMsgTimeout(5000);
    return p;
  }

  private static DefaultMQPushConsumer newConsumer(String ns, String topic, String group, int threads) throws Exception {
    DefaultMQPushConsumer c = new DefaultMQPushConsumer(group);
    c.setNamesrvAddr(ns);
    c.setInstanceName("load-c-" + System.nanoTime());
    c.setConsumeFromWhere(ConsumeFromWhere.CONSUME_FROM_FIRST_OFFSET);
    c.setConsumeThreadMin(threads);
    c.setConsumeThreadMax(threads);
    c.setConsumeMessageBatchMaxSize(32);
    c.subscribe(topic, "*");
    return c;
  }

  private static byte[] body(int size, long scheduledNs, boolean measured) {
    byte[] b = new byte[size];
    ByteBuffer bb = ByteBuffer.wrap(b);
    bb.putLong(0, scheduledNs);
    b[8] = (byte) (measured ? 1 : 0);
    for (int i = 9; i < size; i++) {
      b[i] = (byte) ('a' + (i % 26));
    }
    return b;
  }

  private static long clamp(long us) {
    return Math.max(0, Math.min(HIGHEST_US, us));
  }

  private static void hist(StringBuilder sb, Histogram h) {
    sb.append("{\"count\":").append(h.getTotalCount())
      .append(",\"p50\":").append(h.getValueAtPercentile(50))
      .append(",\"p99\":").append(h.getValueAtPercentile(99))
      .append(",\"p999\":").append(h.getValueAtPercentile(99.9))
      .append(",\"max\":").append(h.getMaxValue())
      .append(",\"mean\":").append(String.format(java.util.Locale.ROOT, "%.1f", h.getMean()))
      .append(",\"values\":[");
    boolean first = true;
    for (HistogramIterationValue v : h.recordedValues()) {
      if (!first) {
        sb.append(',');
      }
      first = false;
      sb.append('[').append(h.highestEquivalentValue(v.getValueIteratedTo())).append(',')
        .append(v.getCountAtValueIteratedTo()).append(']');
    }
    sb.append("]}");
  }

  private static void phase(String name) {
    System.out.println("{\"event\":\"phase\",\"phase\":\"" + name + "\",\"ms\":" + System.currentTimeMillis() + "}");
    System.out.flush();
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> o = new HashMap<>();
    List<String> rest = new ArrayList<>();
    for (int i = 1; i < argv.length; i++) {
      String a = argv[i];
      if (a.startsWith("-") && i + 1 < argv.length) {
        o.put(a.substring(1), argv[++i]);
      } else {
        rest.add(a);
      }
    }
    if (!rest.isEmpty()) {
      usage("unexpected arguments " + rest);
    }
    return o;
  }

  private static String req(Map<String, String> o, String k) {
    String v = o.get(k);
    if (v == null) {
      usage("missing -" + k);
    }
    return v;
  }

  private static void usage(String why) {
    System.err.println("LoadClient: " + why);
    System.err.println("usage: LoadClient latency|e2e|backlog -n NS -t TOPIC [-s SIZE] [-r RATE] [-d SECONDS] [-W WARMUP] [-q COUNT] [-g GROUP]");
    System.exit(2);
  }
}
