// Command loadgen is the HTTP load generator of scripts/bench.sh: a fixed
// number of keep-alive connections, each sending one request after another
// (a closed loop), a warm-up whose results are dropped, then a measured
// window bounded in time and in requests. It prints one JSON result:
// requests per second, latency percentiles, errors by kind, its own CPU use
// (to tell when the client, not the server, is the limit) and, given the
// server's pid, the server's CPU time and peak RSS over the window.
//
// It speaks just enough HTTP/1.1 over raw TCP to keep its own cost per
// request far below the server's: the request bytes are built once, and a
// response is read as a status line, headers and a Content-Length (or
// chunked) body.
//
//	loadgen -url http://127.0.0.1:8080/api/v1/realtime/token -bearer-file tok -c 32 -warmup 2s -duration 10s
//	loadgen -probe -wait 20s -url http://127.0.0.1:8080/healthz
//	loadgen -storm -gatepass ./gatepass -users 10000 -conns 512 -out-dir out
//
// With -storm it runs the reconnect storm instead (storm.go): it starts the
// server itself, since the server must trust the identity provider it
// serves.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	target      *url.URL
	method      string
	body        string
	contentType string
	bearerFile  string
	concurrency int
	warmup      time.Duration
	duration    time.Duration
	maxRequests int64
	timeout     time.Duration
	wait        time.Duration
	serverPID   int
	label       string
	round       int
	signer      string
	report      string
	serverCore  int
	waitIdle    time.Duration
	out         string
	probe       bool
	storm       bool
	stormOpts   stormOptions
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "", "target `URL` (http:// only, loopback in practice)")
	fs.StringVar(&o.method, "method", "POST", "request method")
	fs.StringVar(&o.body, "body", "", "request body (none by default)")
	fs.StringVar(&o.contentType, "content-type", "application/json", "Content-Type of a non-empty body")
	fs.StringVar(&o.bearerFile, "bearer-file", "", "`file` holding the bearer token sent in Authorization (kept off the command line)")
	fs.IntVar(&o.concurrency, "c", 32, "connections, each with one request in flight")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "load before the measured window, not counted")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured window")
	fs.Int64Var(&o.maxRequests, "max-requests", 5_000_000, "end the measured window early after this many requests")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "deadline of one request")
	fs.DurationVar(&o.wait, "wait", 0, "first wait up to this long for the target to answer at all")
	fs.IntVar(&o.serverPID, "server-pid", 0, "`pid` of the server, to report its CPU time and peak RSS, and to stop -wait early when it exits (Linux /proc)")
	fs.StringVar(&o.label, "label", "", "name of this run in the result")
	fs.IntVar(&o.round, "round", 0, "round of alternating runs this one belongs to, recorded in the result (-report compares runs of one round)")
	fs.StringVar(&o.signer, "signer", "", "signer the server uses, recorded in the result; with -storm, the JWT_SIGNER the server is started with")
	fs.StringVar(&o.report, "report", "", "print the table of the results in `dir` (written by scripts/bench.sh) and exit")
	fs.IntVar(&o.serverCore, "server-core", 0, "with -report: the CPU the servers were pinned to, -1 for none")
	fs.DurationVar(&o.waitIdle, "wait-idle", 0, "wait up to this long for every CPU to be nearly idle for a second, then exit (always 0)")
	fs.StringVar(&o.out, "out", "", "also write the JSON result to this `file`")
	fs.BoolVar(&o.probe, "probe", false, "send one request, print the response body, exit 1 unless the status is 2xx")
	fs.BoolVar(&o.storm, "storm", false, "run the reconnect storm (-gatepass, -users, -conns, -storm-limits) and write storm-<limits>.json into -out-dir")
	so := &o.stormOpts
	fs.StringVar(&so.gatepass, "gatepass", "", "with -storm: the gatepass `binary` to start")
	fs.StringVar(&so.devDir, "dev-dir", "", "with -storm: development folder whose identity and office keys to use (created if missing; default: a temporary one)")
	fs.IntVar(&so.users, "users", 10_000, "with -storm: distinct users, each with an access token of its own")
	fs.IntVar(&so.conns, "conns", 512, "with -storm: keep-alive connections the storm is sent over")
	limits := fs.String("storm-limits", "off,memory,redis", "with -storm: one storm per rate-limit setting, comma- or space-separated: off, memory, redis")
	fs.StringVar(&so.logLevel, "log-level", "info", "with -storm: LOG_LEVEL of the server")
	fs.DurationVar(&so.timeout, "storm-timeout", 2*time.Minute, "with -storm: give up on a storm after this long; requests not sent by then count as errors")
	fs.StringVar(&so.outDir, "out-dir", "", "with -storm: `folder` for the results and the server logs")
	fs.StringVar(&so.redis, "redis-server", "redis-server", "with -storm: the redis-server `binary` of the Redis storm")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	so.limits = strings.FieldsFunc(*limits, func(r rune) bool { return r == ',' || r == ' ' })
	so.signer, so.reqTimeout = o.signer, o.timeout
	if o.report != "" || o.waitIdle > 0 || o.storm {
		return o, nil
	}
	u, err := url.Parse(*rawURL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return o, fmt.Errorf("-url must be an http:// URL, got %q", *rawURL)
	}
	o.target = u
	switch {
	case o.concurrency < 1 || o.concurrency > 4096:
		return o, errors.New("-c must be between 1 and 4096")
	case o.duration <= 0 || o.duration > 10*time.Minute:
		return o, errors.New("-duration must be between 0 and 10m")
	case o.warmup < 0 || o.warmup > 5*time.Minute:
		return o, errors.New("-warmup must be between 0 and 5m")
	case o.maxRequests < 1:
		return o, errors.New("-max-requests must be positive")
	case o.timeout <= 0:
		return o, errors.New("-timeout must be positive")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.report != "" {
		return report(o.report, o.serverCore, stdout)
	}
	if o.waitIdle > 0 {
		waitIdle(ctx, o.waitIdle, stderr)
		return nil
	}
	if o.storm {
		return runStorms(ctx, o.stormOpts, stderr)
	}
	var bearer string
	if o.bearerFile != "" {
		b, err := os.ReadFile(o.bearerFile)
		if err != nil {
			return fmt.Errorf("bearer: %w", err)
		}
		bearer = strings.TrimSpace(string(b))
	}
	req := buildRequest(o.method, o.target, bearer, o.contentType, o.body)
	addr := hostPort(o.target)

	if o.wait > 0 {
		if err := waitForServer(ctx, addr, req, o.timeout, o.wait, o.serverPID); err != nil {
			return err
		}
	}
	if o.probe {
		return probe(addr, req, o.timeout, stdout)
	}

	res, err := load(ctx, addr, req, o)
	if err != nil {
		return err
	}
	res.Label, res.Signer, res.Round, res.URL, res.Method = o.label, o.signer, o.round, o.target.String(), o.method
	fmt.Fprintf(stderr, "loadgen: %s: %.0f req/s, p50 %.2f ms, p99 %.2f ms, %d errors\n",
		res.name(), res.RPS, res.Latency.P50, res.Latency.P99, res.Errors)
	out, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	out = append(out, '\n')
	if o.out != "" {
		if err := os.WriteFile(o.out, out, 0o644); err != nil {
			return err
		}
	}
	_, err = stdout.Write(out)
	return err
}

// hostPort is the address to dial for u, port 80 when none is given.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "80")
}

// buildRequest renders the one request every connection repeats.
func buildRequest(method string, u *url.URL, bearer, contentType, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gatepass-loadgen\r\nAccept: application/json\r\n", method, u.RequestURI(), u.Host)
	if bearer != "" {
		fmt.Fprintf(&b, "Authorization: Bearer %s\r\n", bearer)
	}
	if body != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", contentType)
	}
	if body != "" || method == "POST" || method == "PUT" || method == "PATCH" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}

// waitForServer retries one request until the server answers with any
// status, or gives up after wait, or at once when the server process pid
// (if not 0) has exited.
func waitForServer(ctx context.Context, addr string, req []byte, timeout, wait time.Duration, pid int) error {
	deadline := time.Now().Add(wait)
	for {
		if pid > 0 && !processAlive(pid) {
			return fmt.Errorf("server process %d exited", pid)
		}
		c, err := dial(addr, timeout)
		if err == nil {
			_, _, err = c.do(req, timeout, false)
			c.close()
			if err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer within %s: %w", addr, wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func probe(addr string, req []byte, timeout time.Duration, stdout io.Writer) error {
	c, err := dial(addr, timeout)
	if err != nil {
		return err
	}
	defer c.close()
	status, body, err := c.do(req, timeout, true)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(body); err != nil {
		return err
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("status %d", status)
	}
	return nil
}

// conn is one keep-alive connection.
type conn struct {
	nc net.Conn
	r  *bufio.Reader
	// lastBody is the body size of the last response.
	lastBody int64
}

func dial(addr string, timeout time.Duration) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, r: bufio.NewReaderSize(nc, 8<<10)}, nil
}

func (c *conn) close() { _ = c.nc.Close() }

// errProtocol is a response this client cannot read; the connection is
// dropped.
var errProtocol = errors.New("malformed HTTP response")

// do sends req and reads the response. The body is returned only when
// keep is set; otherwise it is discarded.
func (c *conn) do(req []byte, timeout time.Duration, keep bool) (status int, body []byte, err error) {
	c.lastBody = 0
	if err := c.nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return 0, nil, err
	}
	if _, err := c.nc.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	status, err = parseStatus(line)
	if err != nil {
		return 0, nil, err
	}
	length, chunked, closing := int64(-1), false, false
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 { // the blank line ending the headers
			break
		}
		name, value, ok := strings.Cut(string(line), ":")
		if !ok {
			return 0, nil, errProtocol
		}
		value = strings.TrimSpace(value)
		switch {
		case strings.EqualFold(name, "Content-Length"):
			if _, err := fmt.Sscanf(value, "%d", &length); err != nil || length < 0 {
				return 0, nil, errProtocol
			}
		case strings.EqualFold(name, "Transfer-Encoding"):
			chunked = strings.EqualFold(value, "chunked")
		case strings.EqualFold(name, "Connection"):
			closing = strings.EqualFold(value, "close")
		}
	}
	switch {
	case chunked:
		body, err = c.readChunked(keep)
	case length >= 0:
		body, err = c.readN(length, keep)
	default:
		return 0, nil, errProtocol // a body up to EOF ends keep-alive
	}
	if err == nil && closing {
		err = errServerClosed
	}
	return status, body, err
}

// errServerClosed means the server announced Connection: close; the
// response counts, the connection is replaced.
var errServerClosed = errors.New("server closed the connection")

func parseStatus(line []byte) (int, error) {
	// "HTTP/1.1 200 OK\r\n"
	if len(line) < 12 || string(line[:5]) != "HTTP/" || line[8] != ' ' {
		return 0, errProtocol
	}
	s := 0
	for _, d := range line[9:12] {
		if d < '0' || d > '9' {
			return 0, errProtocol
		}
		s = s*10 + int(d-'0')
	}
	return s, nil
}

func (c *conn) readN(n int64, keep bool) ([]byte, error) {
	c.lastBody += n
	if !keep {
		_, err := c.r.Discard(int(n))
		return nil, err
	}
	b := make([]byte, n)
	_, err := io.ReadFull(c.r, b)
	return b, err
}

func (c *conn) readChunked(keep bool) ([]byte, error) {
	var body []byte
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		sizeText, _, _ := strings.Cut(strings.TrimSpace(string(line)), ";")
		var size int64
		if _, err := fmt.Sscanf(sizeText, "%x", &size); err != nil || size < 0 {
			return nil, errProtocol
		}
		if size == 0 {
			// Trailers, then the blank line.
			for {
				line, err := c.r.ReadSlice('\n')
				if err != nil {
					return nil, err
				}
				if len(line) <= 2 {
					return body, nil
				}
			}
		}
		chunk, err := c.readN(size, keep)
		if err != nil {
			return nil, err
		}
		body = append(body, chunk...)
		if _, err := c.r.Discard(2); err != nil { // CRLF after the chunk
			return nil, err
		}
	}
}
