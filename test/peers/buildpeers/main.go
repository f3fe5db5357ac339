// Command buildpeers builds the peer servers the tests run (livekit-server,
// centrifugo, nats-server) into the repository's .cache/peers folder, each only when it
// is missing. Arguments name the peers to build; none builds all.
//
//	go run ./test/peers/buildpeers [livekit-server] [centrifugo] [nats-server]
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/gatepass/gatepass/test/peers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	list := peers.All()
	if len(os.Args) > 1 {
		list = list[:0]
		for _, name := range os.Args[1:] {
			p, ok := peers.ByName(name)
			if !ok {
				return fmt.Errorf("unknown peer %q (known: livekit-server, centrifugo, nats-server)", name)
			}
			list = append(list, p)
		}
	}
	return peers.BuildAll(ctx, os.Stderr, list...)
}
