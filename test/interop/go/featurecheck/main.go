// featurecheck: consumer features through rocketmq-client-go/v2, reported as JSON lines.
//
//	featurecheck sql92 --namesrv A --topic T --count N --expr E [--settle-ms MS]
//	  sends N messages with user properties a=i and b=x|y (i odd → y), then a push consumer with
//	  the SQL92 selector E reports every message it gets: {"event":"received","a":..,"b":..}.
//	featurecheck broadcast --namesrv A --topic T --count N
//	  two BROADCASTING push consumers of one group; N messages sent; each reports the distinct
//	  message ids it got: {"event":"consumer","instance":..,"distinct":k,"total":t}.
//	featurecheck orderly --namesrv A --topic T --orders K --per-order M
//	  K×M messages sent with a hash queue selector on the order key (sharding key); an orderly
//	  push consumer reports {"event":"consumed","order":o,"seq":s,"queueId":q} in listener order.
//
// Ends with {"event":"done"} (exit 0) or {"event":"error",...} (exit 1).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"rmq-go-driver/internal/check"
)

type opts struct {
	ns       primitive.NsResolver
	topic    string
	count    int
	expr     string
	settleMs int
	orders   int
	perOrder int
}

func main() {
	if len(os.Args) < 2 {
		check.Fail("usage: featurecheck sql92|broadcast|orderly ...")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet(mode, flag.ExitOnError)
	namesrv := fs.String("namesrv", "", "name server address")
	o := opts{}
	fs.StringVar(&o.topic, "topic", "", "topic")
	fs.IntVar(&o.count, "count", 10, "messages")
	fs.StringVar(&o.expr, "expr", "", "SQL92 expression")
	fs.IntVar(&o.settleMs, "settle-ms", 8000, "how long to wait for more messages")
	fs.IntVar(&o.orders, "orders", 4, "orders")
	fs.IntVar(&o.perOrder, "per-order", 5, "messages per order")
	_ = fs.Parse(os.Args[2:])
	rlog.SetLogLevel("error")
	o.ns = check.NameServers(*namesrv)
	switch mode {
	case "sql92":
		sql92(o)
	case "broadcast":
		broadcast(o)
	case "orderly":
		orderly(o)
	default:
		check.Fail("unknown mode %q", mode)
	}
	check.Emit(map[string]interface{}{"event": "done"})
}

func newProducer(o opts, extra ...producer.Option) rocketmq.Producer {
	return check.StartProducer(append([]producer.Option{producer.WithNsResolver(o.ns), producer.WithGroupName(fmt.Sprintf("PG_go_feat_%d", time.Now().UnixNano())), producer.WithRetry(2)}, extra...)...)
}

func send(p rocketmq.Producer, m *primitive.Message) {
	r, err := p.SendSync(context.Background(), m)
	if err != nil {
		check.Fail("send: %v", err)
	}
	if r.Status != primitive.SendOK {
		check.Fail("send status %v", r.Status)
	}
}

func sql92(o opts) {
	p := newProducer(o)
	for i := 0; i < o.count; i++ {
		m := primitive.NewMessage(o.topic, []byte(fmt.Sprintf("sql-%d", i)))
		b := "x"
		if i%2 == 1 {
			b = "y"
		}
		m.WithProperty("a", strconv.Itoa(i))
		m.WithProperty("b", b)
		send(p, m)
	}
	_ = p.Shutdown()
	c := check.StartPushConsumer([]consumer.Option{
		consumer.WithNsResolver(o.ns),
		consumer.WithGroupName(fmt.Sprintf("CG_go_sql_%d", time.Now().UnixNano())),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, o.topic, consumer.MessageSelector{Type: consumer.SQL92, Expression: o.expr}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			check.Emit(map[string]interface{}{"event": "received", "a": m.GetProperty("a"), "b": m.GetProperty("b")})
		}
		return consumer.ConsumeSuccess, nil
	})
	time.Sleep(time.Duration(o.settleMs) * time.Millisecond)
	_ = c.Shutdown()
}

func broadcast(o opts) {
	group := fmt.Sprintf("CG_go_bc_%d", time.Now().UnixNano())
	type member struct {
		name  string
		c     interface{ Shutdown() error }
		mu    sync.Mutex
		ids   map[string]bool
		total int
	}
	members := []*member{{name: "bc-a", ids: map[string]bool{}}, {name: "bc-b", ids: map[string]bool{}}}
	for _, mb := range members {
		mb := mb
		mb.c = check.StartPushConsumer([]consumer.Option{
			consumer.WithNsResolver(o.ns),
			consumer.WithGroupName(group),
			consumer.WithInstance(mb.name),
			consumer.WithConsumerModel(consumer.BroadCasting),
			consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
		}, o.topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
			mb.mu.Lock()
			defer mb.mu.Unlock()
			for _, m := range msgs {
				mb.ids[m.MsgId] = true
				mb.total++
			}
			return consumer.ConsumeSuccess, nil
		})
	}
	// Let both take every queue (broadcasting: no rebalance between members).
	time.Sleep(3 * time.Second)
	p := newProducer(o)
	for i := 0; i < o.count; i++ {
		send(p, primitive.NewMessage(o.topic, []byte(fmt.Sprintf("bc-%d", i))))
	}
	_ = p.Shutdown()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		done := true
		for _, mb := range members {
			mb.mu.Lock()
			if len(mb.ids) < o.count {
				done = false
			}
			mb.mu.Unlock()
		}
		if done {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	for _, mb := range members {
		mb.mu.Lock()
		check.Emit(map[string]interface{}{"event": "consumer", "instance": mb.name, "distinct": len(mb.ids), "total": mb.total})
		mb.mu.Unlock()
		_ = mb.c.Shutdown()
	}
}

func orderly(o opts) {
	var mu sync.Mutex
	got := 0
	c := check.StartPushConsumer([]consumer.Option{
		consumer.WithNsResolver(o.ns),
		consumer.WithGroupName(fmt.Sprintf("CG_go_orderly_%d", time.Now().UnixNano())),
		consumer.WithConsumerOrder(true),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, o.topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			order, _ := strconv.Atoi(m.GetProperty("order"))
			seq, _ := strconv.Atoi(m.GetProperty("seq"))
			check.Emit(map[string]interface{}{"event": "consumed", "order": order, "seq": seq, "queueId": m.Queue.QueueId})
			got++
		}
		return consumer.ConsumeSuccess, nil
	})
	defer func() { _ = c.Shutdown() }()
	p := newProducer(o, producer.WithQueueSelector(producer.NewHashQueueSelector()))
	for s := 0; s < o.perOrder; s++ {
		for ord := 0; ord < o.orders; ord++ {
			m := primitive.NewMessage(o.topic, []byte(fmt.Sprintf("o%d-s%d", ord, s)))
			m.WithShardingKey(fmt.Sprintf("order-%d", ord))
			m.WithProperty("order", strconv.Itoa(ord))
			m.WithProperty("seq", strconv.Itoa(s))
			r, err := p.SendSync(context.Background(), m)
			if err != nil {
				check.Fail("send: %v", err)
			}
			check.Emit(map[string]interface{}{"event": "sent", "order": ord, "seq": s, "queueId": r.MessageQueue.QueueId})
		}
	}
	_ = p.Shutdown()
	want := o.orders * o.perOrder
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := got
		mu.Unlock()
		if n >= want {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
}
