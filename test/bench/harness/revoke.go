package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
)

// revokeCmd records n revocations through a gatepass's admin API, for
// users none of the benchmark's tokens names (bench_revoked_<i>), so that
// the grant path checks every request against n active revocations and
// refuses none. Each names a session: a session revocation evicts nothing,
// so no fan-out (to peers the benchmark does not run) is still retrying
// while the grant path is measured.
func revokeCmd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	adminURL := fs.String("admin-url", "", "the admin listener's `URL`")
	token := fs.String("token", "", "the admin API `token`")
	n := fs.Int("n", 10_000, "revocations to record")
	conc := fs.Int("c", 8, "requests in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *adminURL == "" || *token == "" || *n < 1 || *n > 1_000_000 || *conc < 1 {
		return errors.New("revoke needs -admin-url, -token, -n between 1 and 1000000 and -c of at least 1")
	}
	var next, failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(*n) || ctx.Err() != nil {
					return
				}
				body := fmt.Sprintf(`{"user_id":"bench_revoked_%d","org_id":"bench","session_id":"bench","reason":"benchmark"}`, i)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, *adminURL+"/admin/v1/revocations", strings.NewReader(body))
				if err != nil {
					first.CompareAndSwap(nil, err.Error())
					failed.Add(1)
					continue
				}
				req.Header.Set("Authorization", "Bearer "+*token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := probeClient.Do(req)
				if err != nil {
					first.CompareAndSwap(nil, err.Error())
					failed.Add(1)
					continue
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					first.CompareAndSwap(nil, resp.Status)
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("%d of %d revocations failed, first: %v", f, *n, first.Load())
	}
	return ctx.Err()
}
