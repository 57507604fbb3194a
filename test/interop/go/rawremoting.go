package main

// A minimal remoting call (JSON header) used only to ask a name server for the cluster's
// master broker addresses (GET_BROKER_CLUSTER_INFO, code 106), which the Go client's public API
// does not expose. Used by `create-topic` when --broker-addr is not given.

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"time"
)

type rawHeader struct {
	Code     int               `json:"code"`
	Language string            `json:"language"`
	Version  int               `json:"version"`
	Opaque   int32             `json:"opaque"`
	Flag     int32             `json:"flag"`
	Remark   string            `json:"remark,omitempty"`
	Ext      map[string]string `json:"extFields,omitempty"`
}

func rawInvoke(addr string, code int, ext map[string]string, timeout time.Duration) (*rawHeader, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	hdr, _ := json.Marshal(rawHeader{Code: code, Language: "GO", Version: 317, Opaque: 1, Ext: ext})
	frame := make([]byte, 8+len(hdr))
	binary.BigEndian.PutUint32(frame[0:], uint32(4+len(hdr)))
	binary.BigEndian.PutUint32(frame[4:], uint32(len(hdr))) // serialize type 0 = JSON
	copy(frame[8:], hdr)
	if _, err := conn.Write(frame); err != nil {
		return nil, nil, err
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(conn, lenBuf[:]); err != nil {
		return nil, nil, err
	}
	total := binary.BigEndian.Uint32(lenBuf[:])
	if total < 4 || total > 64<<20 {
		return nil, nil, fmt.Errorf("bad frame length %d", total)
	}
	buf := make([]byte, total)
	if _, err := io.ReadFull(conn, buf); err != nil {
		return nil, nil, err
	}
	hl := binary.BigEndian.Uint32(buf[0:4])
	ser, hlen := hl>>24, hl&0xFFFFFF
	if ser != 0 {
		return nil, nil, fmt.Errorf("response uses serialize type %d; only JSON is handled here", ser)
	}
	if 4+hlen > total {
		return nil, nil, fmt.Errorf("bad header length %d", hlen)
	}
	var rh rawHeader
	if err := json.Unmarshal(buf[4:4+hlen], &rh); err != nil {
		return nil, nil, fmt.Errorf("decode response header: %v", err)
	}
	return &rh, buf[4+hlen:], nil
}

var (
	reBrokerAddrs = regexp.MustCompile(`"brokerAddrs"\s*:\s*\{([^}]*)\}`)
	reAddrEntry   = regexp.MustCompile(`"?(\d+)"?\s*:\s*"([^"]+)"`)
)

// masterBrokerAddrs returns the brokerId-0 address of every broker the name server knows.
// The body is fastjson output with non-string map keys ({0:"host:port"}), so it is scanned
// with regular expressions instead of a JSON decoder.
func masterBrokerAddrs(namesrv string) ([]string, error) {
	rh, body, err := rawInvoke(namesrv, 106, nil, 5*time.Second)
	if err != nil {
		return nil, err
	}
	if rh.Code != 0 {
		return nil, fmt.Errorf("GET_BROKER_CLUSTER_INFO: code %d %s", rh.Code, rh.Remark)
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range reBrokerAddrs.FindAllStringSubmatch(string(body), -1) {
		for _, e := range reAddrEntry.FindAllStringSubmatch(m[1], -1) {
			if e[1] == "0" && !seen[e[2]] {
				seen[e[2]] = true
				out = append(out, e[2])
			}
		}
	}
	sort.Strings(out)
	if len(out) == 0 {
		return nil, fmt.Errorf("no master broker registered at %s (body %q)", namesrv, truncate(string(body), 300))
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
