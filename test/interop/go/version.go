package main

import (
	"runtime"
	"runtime/debug"
)

const clientModule = "github.com/apache/rocketmq-client-go/v2"

// clientVersion reports the rocketmq-client-go version compiled into this binary.
func clientVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == clientModule {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "unknown"
}

func goVersion() string { return runtime.Version() }
