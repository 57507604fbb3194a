// rmq-go-driver: interop driver for github.com/apache/rocketmq-client-go/v2.
//
// Implements the command line + JSON-lines contract in test/interop/DRIVERS.md:
//
//	produce --namesrv A --topic T --group PG --count N --mode sync|async|oneway|batch ...
//	consume --namesrv A --topic T --group CG --mode push|litepull ...
//	create-topic --namesrv A [--broker-addr HOST:PORT] --topic T [--queues 4]   (helper, not in DRIVERS.md)
//
// Only JSON lines go to stdout; the client's logging (rlog/logrus) goes to stderr.
package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/rocketmq-client-go/v2/admin"
	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// jsonWrite wraps the real stdout (captured at package init). main() then points os.Stdout at
// stderr so that any stray fmt.Print* in the client library cannot corrupt the JSON-lines stream.
var (
	emitMu    sync.Mutex
	jsonWrite = bufio.NewWriter(os.Stdout)
)

func emit(ev map[string]interface{}) {
	emitMu.Lock()
	defer emitMu.Unlock()
	enc := json.NewEncoder(jsonWrite)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ev); err != nil {
		fmt.Fprintf(os.Stderr, "rmq-go-driver: cannot encode event: %v\n", err)
	}
	jsonWrite.Flush()
}

func logf(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "rmq-go-driver: "+format+"\n", args...)
}

func fatal(code int, format string, args ...interface{}) {
	msg := fmt.Sprintf(format, args...)
	emit(map[string]interface{}{"event": "error", "error": msg})
	logf("%s", msg)
	os.Exit(code)
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  rmq-go-driver produce --namesrv ADDR[;ADDR] --topic T --group PG --count N --mode sync|async|oneway|batch
                        [--run-id R] [--start-index S] [--body-size B] [--tag TAG] [--batch-size K]
                        [--retries N] [--send-timeout-ms MS] [--oneway-linger-ms MS]
  rmq-go-driver consume --namesrv ADDR --topic T --group CG --mode push|litepull [--tag-expr EXPR]
                        [--instance NAME] [--timeout-ms MS] [--shutdown-linger-ms MS]
  rmq-go-driver create-topic --namesrv ADDR [--broker-addr HOST:PORT] --topic T [--queues N] [--wait-ms MS]
  rmq-go-driver version`)
}

func main() {
	os.Stdout = os.Stderr                         // see jsonWrite
	level := os.Getenv("RMQ_GO_DRIVER_LOG_LEVEL") // debug|info|warn|error|fatal; default error
	if level == "" {
		level = "error"
	}
	rlog.SetLogLevel(level) // the default logrus logger already writes to stderr

	if len(os.Args) < 2 {
		usage()
		fatal(2, "missing command")
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "produce":
		os.Exit(runProduce(args))
	case "consume":
		os.Exit(runConsume(args))
	case "create-topic":
		os.Exit(runCreateTopic(args))
	case "version":
		emit(map[string]interface{}{"event": "version", "client": "github.com/apache/rocketmq-client-go/v2", "clientVersion": clientVersion(), "go": goVersion()})
	case "-h", "--help", "help":
		usage()
	default:
		usage()
		fatal(2, "unknown command %q", cmd)
	}
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) {
	if err := fs.Parse(args); err != nil {
		fatal(2, "bad arguments: %v", err)
	}
	if fs.NArg() > 0 {
		fatal(2, "unexpected arguments: %v", fs.Args())
	}
}

func splitNamesrv(s string) []string {
	var out []string
	for _, a := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Deterministic message content (DRIVERS.md "Message content").

func makeBody(runID string, i, size int) []byte {
	prefix := fmt.Sprintf("%s-%d|", runID, i)
	n := size
	if n < len(prefix) {
		n = len(prefix)
	}
	b := make([]byte, n)
	copy(b, prefix)
	for k := 0; len(prefix)+k < n; k++ {
		b[len(prefix)+k] = byte((k*7 + i) & 0xff)
	}
	return b
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

type outMsg struct {
	index int
	msg   *primitive.Message
	sha   string
}

func buildMessage(topic, runID, tag string, i, bodySize int) outMsg {
	body := makeBody(runID, i, bodySize)
	m := primitive.NewMessage(topic, body)
	if tag != "" {
		m.WithTag(tag)
	}
	m.WithKeys([]string{fmt.Sprintf("key-%s-%d", runID, i), fmt.Sprintf("k2-%d", i)})
	m.WithProperty("idx", strconv.Itoa(i))
	m.WithProperty("runId", runID)
	m.WithProperty("uprop", fmt.Sprintf("v-é-%d", i))
	m.Flag = int32(i % 5)
	return outMsg{index: i, msg: m, sha: sha256Hex(body)}
}

func statusName(s primitive.SendStatus) string {
	switch s {
	case primitive.SendOK:
		return "SEND_OK"
	case primitive.SendFlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case primitive.SendFlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case primitive.SendSlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	default:
		return "UNKNOWN_ERROR"
	}
}

func errString(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

// ---------------------------------------------------------------------------------------------
// produce

func runProduce(args []string) int {
	fs := newFlagSet("produce")
	namesrv := fs.String("namesrv", "", "name server address(es), ';'-separated")
	topic := fs.String("topic", "", "topic")
	group := fs.String("group", "", "producer group")
	count := fs.Int("count", 0, "number of messages")
	mode := fs.String("mode", "sync", "sync|async|oneway|batch")
	runID := fs.String("run-id", "", "run id (default: derived from the clock)")
	start := fs.Int("start-index", 0, "first message index")
	bodySize := fs.Int("body-size", 64, "body size in bytes")
	tag := fs.String("tag", "", "tag")
	batchSize := fs.Int("batch-size", 8, "messages per batch (mode batch)")
	retries := fs.Int("retries", 2, "client retries")
	sendTimeoutMs := fs.Int("send-timeout-ms", 3000, "send timeout in ms")
	onewayLingerMs := fs.Int("oneway-linger-ms", 1000, "mode oneway: wait this long before closing the connection, so the broker replies to the flag-less oneway requests are drained")
	parseFlags(fs, args)

	if *namesrv == "" || *topic == "" || *group == "" {
		fatal(2, "produce needs --namesrv, --topic and --group")
	}
	if *count < 0 || *bodySize < 0 || *batchSize <= 0 || *retries < 0 || *sendTimeoutMs <= 0 {
		fatal(2, "bad numeric argument")
	}
	switch *mode {
	case "sync", "async", "oneway", "batch":
	default:
		fatal(2, "unknown produce mode %q", *mode)
	}
	if *runID == "" {
		*runID = fmt.Sprintf("go%d", time.Now().UnixNano())
	}
	sendTimeout := time.Duration(*sendTimeoutMs) * time.Millisecond

	p, err := producer.NewDefaultProducer(
		producer.WithNsResolver(primitive.NewPassthroughResolver(splitNamesrv(*namesrv))),
		producer.WithGroupName(*group),
		producer.WithInstanceName(fmt.Sprintf("go-prod-%d", os.Getpid())),
		producer.WithRetry(*retries),
		producer.WithSendMsgTimeout(sendTimeout),
	)
	if err != nil {
		fatal(1, "create producer: %v", err)
	}
	if err := p.Start(); err != nil {
		fatal(1, "start producer: %v", err)
	}

	var sent, failed int64
	sendErr := func(index int, err error) {
		atomic.AddInt64(&failed, 1)
		emit(map[string]interface{}{"event": "send-error", "index": index, "error": errString(err)})
	}
	sentOK := func(index int, sha string, r *primitive.SendResult, msgID, offsetMsgID string, queueOffset int64) {
		atomic.AddInt64(&sent, 1)
		qid := -1
		if r.MessageQueue != nil {
			qid = r.MessageQueue.QueueId
		}
		emit(map[string]interface{}{
			"event": "sent", "index": index, "status": statusName(r.Status),
			"msgId": msgID, "offsetMsgId": offsetMsgID,
			"queueId": qid, "queueOffset": queueOffset, "bodySha256": sha,
		})
	}
	// Overall deadline of one blocking call: the client gives each attempt its own 3 s
	// (hard-coded in v2.1.2), so allow every attempt its full send timeout.
	callTimeout := sendTimeout * time.Duration(*retries+1)

	end := *start + *count
	switch *mode {
	case "sync":
		for i := *start; i < end; i++ {
			om := buildMessage(*topic, *runID, *tag, i, *bodySize)
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			r, err := p.SendSync(ctx, om.msg)
			cancel()
			if err != nil {
				sendErr(i, err)
				continue
			}
			sentOK(i, om.sha, r, r.MsgID, r.OffsetMsgID, r.QueueOffset)
		}

	case "oneway":
		for i := *start; i < end; i++ {
			om := buildMessage(*topic, *runID, *tag, i, *bodySize)
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			err := p.SendOneWay(ctx, om.msg)
			cancel()
			if err != nil {
				sendErr(i, err)
				continue
			}
			atomic.AddInt64(&sent, 1)
			emit(map[string]interface{}{"event": "sent", "index": i, "oneway": true, "bodySha256": om.sha})
		}
		// v2.1.2 sends "oneway" requests without the RPC_ONEWAY flag (flag=0), so brokers answer
		// them. Closing the socket while those answers sit unread makes the kernel send RST instead
		// of FIN, and the broker may then lose the last requests it had not read yet (observed with
		// Apache 5.5.0: 1998 of 2000 stored). Linger so the replies are drained before Shutdown.
		if *onewayLingerMs > 0 {
			time.Sleep(time.Duration(*onewayLingerMs) * time.Millisecond)
		}

	case "batch":
		for b := *start; b < end; b += *batchSize {
			n := *batchSize
			if b+n > end {
				n = end - b
			}
			oms := make([]outMsg, n)
			msgs := make([]*primitive.Message, n)
			for j := 0; j < n; j++ {
				oms[j] = buildMessage(*topic, *runID, *tag, b+j, *bodySize)
				msgs[j] = oms[j].msg
			}
			ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
			r, err := p.SendSync(ctx, msgs...)
			cancel()
			if err != nil {
				for _, om := range oms {
					sendErr(om.index, err)
				}
				continue
			}
			// v2.1.2 does not put UNIQ_KEY on the messages of a batch (only on single sends), so
			// r.MsgID is empty; the broker answers msgId = comma-joined offset msg ids. A
			// consumer then reports MsgId = OffsetMsgId for these messages, so do the same here.
			offIDs := strings.Split(r.OffsetMsgID, ",")
			for j, om := range oms {
				off := ""
				if j < len(offIDs) {
					off = offIDs[j]
				}
				id := om.msg.GetProperty(primitive.PropertyUniqueClientMessageIdKeyIndex)
				if id == "" {
					id = off
				}
				sentOK(om.index, om.sha, r, id, off, r.QueueOffset+int64(j))
			}
		}

	case "async":
		const maxInFlight = 64
		sem := make(chan struct{}, maxInFlight)
		var wg sync.WaitGroup
		var pending sync.Map // index -> struct{}
		for i := *start; i < end; i++ {
			om := buildMessage(*topic, *runID, *tag, i, *bodySize)
			sem <- struct{}{}
			wg.Add(1)
			pending.Store(om.index, struct{}{})
			var once sync.Once
			idx, sha := om.index, om.sha
			cb := func(_ context.Context, r *primitive.SendResult, err error) {
				// v2.1.2 may call the callback twice on a timeout (once with the error, then it
				// panics inside its own recover); count each index once.
				once.Do(func() {
					if _, ok := pending.LoadAndDelete(idx); !ok {
						return
					}
					if err != nil || r == nil {
						if err == nil {
							err = errors.New("nil send result")
						}
						sendErr(idx, err)
					} else {
						sentOK(idx, sha, r, r.MsgID, r.OffsetMsgID, r.QueueOffset)
					}
					<-sem
					wg.Done()
				})
			}
			if err := p.SendAsync(context.Background(), cb, om.msg); err != nil {
				cb(context.Background(), nil, err)
			}
		}
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(callTimeout + 10*time.Second):
			// Callbacks that never came: report them as failures (bounded wait).
			pending.Range(func(k, _ interface{}) bool {
				if _, ok := pending.LoadAndDelete(k); ok {
					sendErr(k.(int), errors.New("async callback not invoked before deadline"))
				}
				return true
			})
		}
	}

	_ = p.Shutdown()
	emit(map[string]interface{}{"event": "done", "sent": atomic.LoadInt64(&sent), "failed": atomic.LoadInt64(&failed)})
	return 0
}

// ---------------------------------------------------------------------------------------------
// consume

var userProps = []string{"idx", "runId", "uprop"}

func runConsume(args []string) int {
	fs := newFlagSet("consume")
	namesrv := fs.String("namesrv", "", "name server address(es), ';'-separated")
	topic := fs.String("topic", "", "topic")
	group := fs.String("group", "", "consumer group")
	mode := fs.String("mode", "push", "push|litepull")
	tagExpr := fs.String("tag-expr", "*", "tag expression")
	instance := fs.String("instance", "", "instance name (client id suffix); default go-<pid>")
	timeoutMs := fs.Int("timeout-ms", 120000, "stop after this many ms")
	lingerMs := fs.Int("shutdown-linger-ms", 500, "suspend pulling and commit offsets this long before Shutdown (0: plain Shutdown)")
	parseFlags(fs, args)

	if *mode == "litepull" {
		fatal(2, "mode litepull is not supported by the Go client driver (Java only)")
	}
	if *mode != "push" {
		fatal(2, "unknown consume mode %q", *mode)
	}
	if *namesrv == "" || *topic == "" || *group == "" {
		fatal(2, "consume needs --namesrv, --topic and --group")
	}
	if *instance == "" {
		*instance = fmt.Sprintf("go-%d", os.Getpid())
	}
	if *tagExpr == "" {
		*tagExpr = "*"
	}

	c, err := consumer.NewPushConsumer(
		consumer.WithNsResolver(primitive.NewPassthroughResolver(splitNamesrv(*namesrv))),
		consumer.WithGroupName(*group),
		consumer.WithInstance(*instance),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		fatal(1, "create push consumer: %v", err)
	}

	var received int64
	var stopping int32
	handler := func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			props := map[string]string{}
			for _, k := range userProps {
				if v := m.GetProperty(k); v != "" {
					props[k] = v
				}
			}
			idx := -1
			if v, err := strconv.Atoi(m.GetProperty("idx")); err == nil {
				idx = v
			}
			qid, brokerName := -1, ""
			if m.Queue != nil {
				qid, brokerName = m.Queue.QueueId, m.Queue.BrokerName
			}
			ev := map[string]interface{}{
				"event": "received", "instance": *instance, "index": idx,
				"runId": m.GetProperty("runId"), "topic": m.Topic,
				"queueId": qid, "queueOffset": m.QueueOffset,
				// MessageExt.MsgId is the UNIQ_KEY property when present (else the offset msg id).
				"msgId": m.MsgId, "offsetMsgId": m.OffsetMsgId,
				"tag": m.GetTags(), "keys": m.GetKeys(), "props": props,
				"flag": m.Flag, "reconsumeTimes": m.ReconsumeTimes,
				"bodySha256": sha256Hex(m.Body),
				"brokerName": brokerName,
			}
			atomic.AddInt64(&received, 1)
			emit(ev)
		}
		return consumer.ConsumeSuccess, nil
	}
	if err := c.Subscribe(*topic, consumer.MessageSelector{Type: consumer.TAG, Expression: *tagExpr}, handler); err != nil {
		fatal(1, "subscribe: %v", err)
	}
	if err := c.Start(); err != nil {
		fatal(1, "start push consumer: %v", err)
	}
	emit(map[string]interface{}{"event": "ready", "instance": *instance})

	stop := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if strings.TrimSpace(sc.Text()) == "stop" {
				stop <- "stop"
				return
			}
		}
		stop <- "stdin-eof"
	}()
	var why string
	select {
	case why = <-stop:
	case <-time.After(time.Duration(*timeoutMs) * time.Millisecond):
		why = "timeout"
	}
	atomic.StoreInt32(&stopping, 1)
	logf("consumer %s stopping (%s)", *instance, why)

	// Shutdown persists the consume offsets to the broker, but v2.1.2 sends UPDATE_CONSUMER_OFFSET
	// as "oneway" requests without the oneway flag and closes the sockets right after writing
	// them; replies still unread at close turn the FIN into an RST and the broker may drop the
	// updates (the same effect loses oneway messages, see produce). So: stop pulling, let
	// in-flight deliveries finish, commit once while the connection stays open, then Shutdown
	// (which commits the same offsets again). All of it bounded so the driver always exits.
	shut := make(chan error, 1)
	go func() {
		if *lingerMs > 0 {
			c.Suspend()
			time.Sleep(300 * time.Millisecond)
			if err := c.PersistConsumerOffset(); err != nil {
				logf("persist offsets: %v", err)
			}
			time.Sleep(time.Duration(*lingerMs) * time.Millisecond)
		}
		shut <- c.Shutdown()
	}()
	select {
	case err := <-shut:
		if err != nil {
			logf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		logf("shutdown did not finish within 30s")
	}
	emit(map[string]interface{}{"event": "done", "received": atomic.LoadInt64(&received), "reason": why})
	return 0
}

// ---------------------------------------------------------------------------------------------
// create-topic (helper for self tests; DRIVERS.md does not require it)

func runCreateTopic(args []string) int {
	fs := newFlagSet("create-topic")
	namesrv := fs.String("namesrv", "", "name server address(es)")
	brokerAddr := fs.String("broker-addr", "", "broker address host:port (default: every master broker the name server knows)")
	topic := fs.String("topic", "", "topic")
	queues := fs.Int("queues", 4, "read/write queue count")
	waitMs := fs.Int("wait-ms", 30000, "wait until the name server routes the topic (0: do not wait)")
	parseFlags(fs, args)
	nsList := splitNamesrv(*namesrv)
	if len(nsList) == 0 || *topic == "" || *queues <= 0 {
		fatal(2, "create-topic needs --namesrv, --topic and --queues > 0")
	}
	var brokers []string
	if *brokerAddr != "" {
		brokers = splitNamesrv(*brokerAddr)
	} else {
		var err error
		deadline := time.Now().Add(time.Duration(*waitMs) * time.Millisecond)
		for {
			brokers, err = masterBrokerAddrs(nsList[0])
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		if err != nil {
			fatal(1, "find broker addresses: %v", err)
		}
	}
	adm, err := admin.NewAdmin(admin.WithResolver(primitive.NewPassthroughResolver(nsList)))
	if err != nil {
		fatal(1, "create admin: %v", err)
	}
	defer adm.Close()
	for _, b := range brokers {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = adm.CreateTopic(ctx,
			admin.WithTopicCreate(*topic),
			admin.WithBrokerAddrCreate(b),
			admin.WithReadQueueNums(*queues),
			admin.WithWriteQueueNums(*queues),
		)
		cancel()
		if err != nil {
			fatal(1, "create topic %s on %s: %v", *topic, b, err)
		}
	}
	// CreateTopic ignores the response code, so confirm through the route instead. The broker
	// registers the new topic with the name server right away (or on its next 30 s heartbeat).
	deadline := time.Now().Add(time.Duration(*waitMs) * time.Millisecond)
	for *waitMs > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		mqs, err := adm.FetchPublishMessageQueues(ctx, *topic)
		cancel()
		if err == nil && len(mqs) >= *queues*len(brokers) {
			emit(map[string]interface{}{"event": "topic-created", "topic": *topic, "brokers": brokers, "writeQueues": len(mqs)})
			return 0
		}
		if time.Now().After(deadline) {
			fatal(1, "topic %s not routable with %d queues after %d ms (have %d, err %v)", *topic, *queues*len(brokers), *waitMs, len(mqs), err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	emit(map[string]interface{}{"event": "topic-created", "topic": *topic, "brokers": brokers})
	return 0
}
