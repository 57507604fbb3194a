// txcheck: transactional messages through rocketmq-client-go/v2's transaction producer, reported
// as JSON lines (same events as TransactionCheck.java's "flow"): a push consumer on the topic,
// then one transaction each whose local transaction answers COMMIT, ROLLBACK and UNKNOW (the
// broker's check-back answers COMMIT), then a committed marker. Ends 1.5 s after the commit,
// unknown and marker messages arrived.
//
//	txcheck --namesrv A --topic T --group PG [--timeout-ms MS]
package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"

	"rmq-go-driver/internal/check"
)

type listener struct{}

func (listener) ExecuteLocalTransaction(m *primitive.Message) primitive.LocalTransactionState {
	action := m.GetProperty("action")
	check.Emit(map[string]interface{}{"event": "executed", "body": string(m.Body), "transactionId": m.TransactionId, "action": action})
	switch action {
	case "COMMIT":
		return primitive.CommitMessageState
	case "ROLLBACK":
		return primitive.RollbackMessageState
	default:
		return primitive.UnknowState
	}
}

func (listener) CheckLocalTransaction(m *primitive.MessageExt) primitive.LocalTransactionState {
	check.Emit(map[string]interface{}{"event": "checked", "at": time.Now().UnixMilli(), "body": string(m.Body), "transactionId": m.TransactionId,
		"topic": m.Topic, "queueId": m.Queue.QueueId, "checkTimes": m.GetProperty("TRANSACTION_CHECK_TIMES")})
	return primitive.CommitMessageState
}

func main() {
	namesrv := flag.String("namesrv", "", "name server address")
	topic := flag.String("topic", "", "topic")
	group := flag.String("group", "", "producer group")
	timeoutMs := flag.Int("timeout-ms", 30000, "receive timeout")
	flag.Parse()
	rlog.SetLogLevel("error")
	ns := check.NameServers(*namesrv)
	stamp := time.Now().UnixNano()

	var mu sync.Mutex
	got := map[string]int{}
	c := check.StartPushConsumer([]consumer.Option{
		consumer.WithNsResolver(ns),
		consumer.WithGroupName(fmt.Sprintf("CG_go_tx_%d", stamp)),
		consumer.WithInstance(fmt.Sprintf("c-%d", stamp)),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	}, *topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, func(_ context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			mu.Lock()
			got[string(m.Body)]++
			mu.Unlock()
			check.Emit(map[string]interface{}{"event": "received", "at": time.Now().UnixMilli(), "body": string(m.Body), "topic": m.Topic,
				"transactionId": m.GetProperty("__transactionId__"), "uniqKey": m.GetProperty("UNIQ_KEY"), "tranMsg": m.GetProperty("TRAN_MSG"),
				"realTopic": nilIfEmpty(m.GetProperty("REAL_TOPIC")), "preparedTransactionOffset": m.PreparedTransactionOffset})
		}
		return consumer.ConsumeSuccess, nil
	})
	defer func() { _ = c.Shutdown() }()
	time.Sleep(3 * time.Second)

	// Its own client instance: the Go client hands a check only to the producer group its client
	// was created for, and heartbeats (so the broker knows it) 1 s after start.
	p := check.StartTransactionProducer(listener{}, producer.WithNsResolver(ns), producer.WithGroupName(*group),
		producer.WithInstanceName(fmt.Sprintf("p-%d", stamp)), producer.WithRetry(2))
	defer func() { _ = p.Shutdown() }()
	for _, s := range [][2]string{{"tx-commit", "COMMIT"}, {"tx-rollback", "ROLLBACK"}, {"tx-unknown", "UNKNOW"}, {"tx-marker", "COMMIT"}} {
		m := primitive.NewMessage(*topic, []byte(s[0]))
		m.WithTag("TagTx")
		m.WithProperty("action", s[1])
		r, err := p.SendMessageInTransaction(context.Background(), m)
		if err != nil {
			check.Fail("send %s: %v", s[0], err)
		}
		status := "SEND_OK"
		if r.Status != primitive.SendOK {
			status = fmt.Sprintf("status-%d", r.Status)
		}
		check.Emit(map[string]interface{}{"event": "sent", "at": time.Now().UnixMilli(), "body": s[0], "status": status, "localState": stateName(r.State),
			"transactionId": r.TransactionID, "msgId": r.MsgID, "offsetMsgId": r.OffsetMsgID, "queueOffset": r.QueueOffset})
	}
	deadline := time.Now().Add(time.Duration(*timeoutMs) * time.Millisecond)
	for {
		mu.Lock()
		done := got["tx-commit"] > 0 && got["tx-unknown"] > 0 && got["tx-marker"] > 0
		mu.Unlock()
		if done {
			break
		}
		if time.Now().After(deadline) {
			check.Fail("still missing messages after %d ms: received %v", *timeoutMs, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond)
	check.Emit(map[string]interface{}{"event": "done"})
}

func nilIfEmpty(s string) interface{} {
	if s == "" {
		return nil
	}
	return s
}

func stateName(s primitive.LocalTransactionState) string {
	switch s {
	case primitive.CommitMessageState:
		return "COMMIT_MESSAGE"
	case primitive.RollbackMessageState:
		return "ROLLBACK_MESSAGE"
	default:
		return "UNKNOW"
	}
}
