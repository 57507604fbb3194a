// delaycheck: sends one message with a delay level through rocketmq-client-go/v2 and reports,
// as JSON lines, when it was sent and when a push consumer received it.
//
//	delaycheck --namesrv A --topic T --level N [--timeout-ms MS]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

func emit(v map[string]interface{}) {
	b, _ := json.Marshal(v)
	fmt.Println(string(b))
}

func fail(format string, args ...interface{}) {
	emit(map[string]interface{}{"event": "error", "error": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

func main() {
	namesrv := flag.String("namesrv", "", "name server address")
	topic := flag.String("topic", "", "topic")
	level := flag.Int("level", 1, "delay level")
	timeoutMs := flag.Int("timeout-ms", 60000, "receive timeout")
	flag.Parse()
	rlog.SetLogLevel("error")
	ns := primitive.NewPassthroughResolver(strings.Split(*namesrv, ";"))

	got := make(chan map[string]interface{}, 1)
	c, err := consumer.NewPushConsumer(
		consumer.WithNsResolver(ns),
		consumer.WithGroupName(fmt.Sprintf("CG_go_delay_%d", time.Now().UnixNano())),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		fail("create consumer: %v", err)
	}
	err = c.Subscribe(*topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			select {
			case got <- map[string]interface{}{"event": "received", "at": time.Now().UnixMilli(), "body": string(m.Body), "delayLevelProp": m.GetProperty("DELAY"), "realTopic": m.GetProperty("REAL_TOPIC")}:
			default:
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		fail("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		fail("start consumer: %v", err)
	}
	defer func() { _ = c.Shutdown() }()
	time.Sleep(3 * time.Second)

	p, err := producer.NewDefaultProducer(producer.WithNsResolver(ns), producer.WithGroupName("PG_go_delay"), producer.WithRetry(2))
	if err != nil {
		fail("create producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fail("start producer: %v", err)
	}
	defer func() { _ = p.Shutdown() }()
	m := primitive.NewMessage(*topic, []byte("go-delayed-body"))
	m.WithDelayTimeLevel(*level)
	at := time.Now().UnixMilli()
	r, err := p.SendSync(context.Background(), m)
	if err != nil {
		fail("send: %v", err)
	}
	emit(map[string]interface{}{"event": "sent", "at": at, "status": int(r.Status)})
	select {
	case e := <-got:
		emit(e)
	case <-time.After(time.Duration(*timeoutMs) * time.Millisecond):
		fail("delayed message not received within %d ms", *timeoutMs)
	}
	emit(map[string]interface{}{"event": "done"})
}
