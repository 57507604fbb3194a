// delaycheck: sends one message with a delay level through rocketmq-client-go/v2 and reports,
// as JSON lines, when it was sent and when a push consumer received it.
//
//	delaycheck --namesrv A --topic T --level N [--timeout-ms MS]
package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"rmq-go-driver/internal/check"
)

func main() {
	namesrv := flag.String("namesrv", "", "name server address")
	topic := flag.String("topic", "", "topic")
	level := flag.Int("level", 1, "delay level")
	timeoutMs := flag.Int("timeout-ms", 60000, "receive timeout")
	flag.Parse()
	rlog.SetLogLevel("error")
	ns := check.NameServers(*namesrv)

	got := make(chan map[string]interface{}, 1)
	c := check.StartPushConsumer([]consumer.Option{
		consumer.WithNsResolver(ns),
		consumer.WithGroupName(fmt.Sprintf("CG_go_delay_%d", time.Now().UnixNano())),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, *topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			select {
			case got <- map[string]interface{}{"event": "received", "at": time.Now().UnixMilli(), "body": string(m.Body), "delayLevelProp": m.GetProperty("DELAY"), "realTopic": m.GetProperty("REAL_TOPIC")}:
			default:
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	defer func() { _ = c.Shutdown() }()
	time.Sleep(3 * time.Second)

	p := check.StartProducer(producer.WithNsResolver(ns), producer.WithGroupName("PG_go_delay"), producer.WithRetry(2))
	defer func() { _ = p.Shutdown() }()
	m := primitive.NewMessage(*topic, []byte("go-delayed-body"))
	m.WithDelayTimeLevel(*level)
	at := time.Now().UnixMilli()
	r, err := p.SendSync(context.Background(), m)
	if err != nil {
		check.Fail("send: %v", err)
	}
	check.Emit(map[string]interface{}{"event": "sent", "at": at, "status": int(r.Status)})
	select {
	case e := <-got:
		check.Emit(e)
	case <-time.After(time.Duration(*timeoutMs) * time.Millisecond):
		check.Fail("delayed message not received within %d ms", *timeoutMs)
	}
	check.Emit(map[string]interface{}{"event": "done"})
}
