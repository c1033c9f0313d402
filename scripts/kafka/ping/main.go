// Command ping waits until a Kafka broker answers a metadata request, for scripts/kafka.
//
//	go run ./scripts/kafka/ping 127.0.0.1:39092 60s
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: ping host:port timeout")
		os.Exit(2)
	}
	wait, err := time.ParseDuration(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ping:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(os.Args[1]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "ping:", err)
		os.Exit(1)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for {
		if _, err := adm.ListBrokers(ctx); err == nil {
			return
		} else if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "ping: no broker answered at", os.Args[1], "within", wait, ":", err)
			os.Exit(1)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
