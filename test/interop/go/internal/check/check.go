// Package check holds what the small check programs next to the Go driver (delaycheck,
// featurecheck, txcheck) share: their JSON-lines output and the set-up of a client.
//
// Every program prints one JSON object a line on stdout and ends with {"event":"done"} (exit 0)
// or {"event":"error","error":...} (exit 1).
package check

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"

	rocketmq "github.com/apache/rocketmq-client-go/v2"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
)

var out sync.Mutex

// Emit prints v as one JSON line; safe from the client's callback goroutines.
func Emit(v map[string]interface{}) {
	b, _ := json.Marshal(v)
	out.Lock()
	defer out.Unlock()
	fmt.Println(string(b))
}

// Fail prints an error event and exits with status 1 (deferred shutdowns do not run).
func Fail(format string, args ...interface{}) {
	Emit(map[string]interface{}{"event": "error", "error": fmt.Sprintf(format, args...)})
	os.Exit(1)
}

// NameServers resolves the ';'-separated name server list given on the command line.
func NameServers(namesrv string) primitive.NsResolver {
	return primitive.NewPassthroughResolver(strings.Split(namesrv, ";"))
}

// StartProducer creates and starts a default producer, or fails.
func StartProducer(opts ...producer.Option) rocketmq.Producer {
	p, err := producer.NewDefaultProducer(opts...)
	if err != nil {
		Fail("create producer: %v", err)
	}
	if err := p.Start(); err != nil {
		Fail("start producer: %v", err)
	}
	return p
}

// StartTransactionProducer creates and starts a transaction producer, or fails.
func StartTransactionProducer(listener primitive.TransactionListener, opts ...producer.Option) rocketmq.TransactionProducer {
	p, err := producer.NewTransactionProducer(listener, opts...)
	if err != nil {
		Fail("create producer: %v", err)
	}
	if err := p.Start(); err != nil {
		Fail("start producer: %v", err)
	}
	return p
}

// StartPushConsumer creates a push consumer with opts, subscribes it to topic with the selector
// and handler, and starts it, or fails.
func StartPushConsumer(opts []consumer.Option, topic string, selector consumer.MessageSelector, handler func(context.Context, ...*primitive.MessageExt) (consumer.ConsumeResult, error)) rocketmq.PushConsumer {
	c, err := consumer.NewPushConsumer(opts...)
	if err != nil {
		Fail("create consumer: %v", err)
	}
	if err := c.Subscribe(topic, selector, handler); err != nil {
		Fail("subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		Fail("start consumer: %v", err)
	}
	return c
}
