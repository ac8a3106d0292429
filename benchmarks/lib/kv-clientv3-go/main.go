// The kv suite's load generator (benchmarks/suites/kv.ts): closed-loop clients over etcd's
// Go clientv3 (Debian's golang-etcd-server-dev, etcd 3.4), one and the same client for etcd
// and raft-kv (which serves etcd's v3 gRPC API on its client port); the same closed loop as
// benchmarks/lib/kv-load.ts, raft-kv's HTTP generator. Built at run time into a temporary
// directory by benchmarks/lib/kv-clientv3-gen.ts (GOPATH mode, no modules); never committed
// as a binary.
//
// Modes (-mode):
//
//	fill    writes keys [from, to) once, `batch` puts per Txn (a plain Put for 1), until done
//	        or -max-ms.
//	load    runs `runs` measured windows of -duration-ms after -warmup-ms, all starting at
//	        -start-at (epoch ms), like kv-load.ts's load(); prints each window's latencies.
//	stream  puts until stdin closes (or -max-ms); every line read from stdin ("mark") starts
//	        a new segment; prints each segment's latencies.
//
// Output: one JSON object on stdout. Latencies are milliseconds, from the call to its return.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/clientv3"
	"google.golang.org/grpc/grpclog"
)

type window struct {
	Ops     int       `json:"ops"`
	Errors  int       `json:"errors"`
	Seconds float64   `json:"seconds"`
	Lat     []float64 `json:"latencies"`
}

type fillResult struct {
	Written int     `json:"written"`
	Errors  int     `json:"errors"`
	Seconds float64 `json:"seconds"`
	MaxMs   float64 `json:"maxMs"`
	Over1s  int     `json:"over1s"`
}

var (
	mode         = flag.String("mode", "load", "fill | load | stream")
	endpoints    = flag.String("endpoints", "127.0.0.1:2379", "comma-separated; client i uses endpoint i % n")
	op           = flag.String("op", "put", "put | get (load mode)")
	serializable = flag.Bool("serializable", false, "gets are serializable (default linearizable)")
	clients      = flag.Int("clients", 1, "concurrent closed-loop clients")
	conns        = flag.Int("conns", 0, "gRPC connections per endpoint (default min(clients, 16))")
	keepaliveMs  = flag.Int64("keepalive-ms", 0, "client keepalive ping interval, also with no call in flight (default 0: none, as etcd's benchmark tool)")
	keys         = flag.Int("keys", 100000, "key space")
	prefix       = flag.String("prefix", "bench/", "key prefix")
	width        = flag.Int("width", 6, "zero-padded digits of a key's number")
	valueBytes   = flag.Int("value-bytes", 256, "value size")
	from         = flag.Int("from", 0, "fill: first key")
	to           = flag.Int("to", 0, "fill: key after the last")
	batch        = flag.Int("batch", 64, "fill: puts per Txn")
	maxMs        = flag.Int64("max-ms", 600000, "fill and stream: give up after this long")
	startAt      = flag.Int64("start-at", 0, "load: epoch ms of the first window's warm-up")
	warmupMs     = flag.Int64("warmup-ms", 2000, "load: unmeasured time before the first window")
	durationMs   = flag.Int64("duration-ms", 3000, "load: one measured window")
	runs         = flag.Int("runs", 5, "load: measured windows")
	seed         = flag.Uint("seed", 1, "key choice")
)

func keyOf(i int) string {
	return fmt.Sprintf("%s%0*d", *prefix, *width, i)
}

// value: n pseudo-random characters from [a-z0-9] seeded by salt, as kv-load.ts's valueBody.
func value(n, salt int) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	rand := rng(uint32(0x5eed + salt*0x9e37))
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[rand()%uint32(len(chars))]
	}
	return string(b)
}

// distinct values a generator cycles through
const nValues = 64

func rng(s uint32) func() uint32 {
	x := s
	if x == 0 {
		x = 0x9e3779b9
	}
	return func() uint32 {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		return x
	}
}

func dial() []*clientv3.Client {
	eps := strings.Split(*endpoints, ",")
	per := *conns
	if per <= 0 {
		per = *clients
		if per > 16 {
			per = 16
		}
	}
	var out []*clientv3.Client
	for i := 0; i < per; i++ {
		for _, ep := range eps {
			cfg := clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second}
			if *keepaliveMs > 0 {
				cfg.DialKeepAliveTime = time.Duration(*keepaliveMs) * time.Millisecond
				cfg.DialKeepAliveTimeout = 5 * time.Second
				cfg.PermitWithoutStream = true
			}
			c, err := clientv3.New(cfg)
			if err != nil {
				log.Fatalf("dial %s: %v", ep, err)
			}
			out = append(out, c)
		}
	}
	return out
}

// client c talks to endpoint c % n over one of that endpoint's connections.
func clientFor(cs []*clientv3.Client, c int) *clientv3.Client {
	neps := len(strings.Split(*endpoints, ","))
	ep := c % neps
	conn := (c / neps) % (len(cs) / neps)
	return cs[conn*neps+ep]
}

func emit(v interface{}) {
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(v); err != nil {
		log.Fatal(err)
	}
}

func fill(cs []*clientv3.Client) {
	vals := values()
	var next int64 = int64(*from)
	var errs int64
	var written int64
	var slowMu sync.Mutex
	var slowest float64
	var over1s int
	t0 := time.Now()
	deadline := t0.Add(time.Duration(*maxMs) * time.Millisecond)
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cli := clientFor(cs, c)
			for time.Now().Before(deadline) {
				lo := int(atomic.AddInt64(&next, int64(*batch))) - *batch
				if lo >= *to {
					return
				}
				hi := lo + *batch
				if hi > *to {
					hi = *to
				}
				ops := make([]clientv3.Op, 0, hi-lo)
				for i := lo; i < hi; i++ {
					ops = append(ops, clientv3.OpPut(keyOf(i), vals[i%nValues]))
				}
				ok := false
				for attempt := 0; attempt < 20 && !ok; attempt++ {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					t1 := time.Now()
					var err error
					if len(ops) == 1 {
						_, err = cli.Put(ctx, keyOf(lo), vals[lo%nValues])
					} else {
						_, err = cli.Txn(ctx).Then(ops...).Commit()
					}
					ms := float64(time.Since(t1).Nanoseconds()) / 1e6
					cancel()
					slowMu.Lock()
					if ms > slowest {
						slowest = ms
					}
					if ms > 1000 {
						over1s++
					}
					slowMu.Unlock()
					if err == nil {
						ok = true
					} else {
						atomic.AddInt64(&errs, 1)
						time.Sleep(100 * time.Millisecond)
					}
				}
				if !ok {
					log.Fatalf("fill: txn of keys %d..%d kept failing", lo, hi)
				}
				atomic.AddInt64(&written, int64(hi-lo))
			}
		}(c)
	}
	wg.Wait()
	// Batches are taken in order and every batch taken completes (the deadline only stops
	// the taking), so [from, from+written) are all there.
	emit(fillResult{Written: int(written), Errors: int(errs), Seconds: time.Since(t0).Seconds(), MaxMs: slowest, Over1s: over1s})
}

func doOne(cli *clientv3.Client, rand func() uint32, vals []string) error {
	key := keyOf(int(rand() % uint32(*keys)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var err error
	if *op == "get" {
		if *serializable {
			_, err = cli.Get(ctx, key, clientv3.WithSerializable())
		} else {
			_, err = cli.Get(ctx, key)
		}
	} else {
		_, err = cli.Put(ctx, key, vals[rand()%nValues])
	}
	return err
}

func values() []string {
	vals := make([]string, nValues)
	for i := range vals {
		vals[i] = value(*valueBytes, i)
	}
	return vals
}

func load(cs []*clientv3.Client) {
	vals := values()
	origin := time.Unix(0, (*startAt+*warmupMs)*int64(time.Millisecond))
	dur := time.Duration(*durationMs) * time.Millisecond
	end := origin.Add(time.Duration(*runs) * dur)
	type acc struct {
		ops, errs int
		lat       []float64
	}
	per := make([][]acc, *clients)
	time.Sleep(time.Until(time.Unix(0, *startAt*int64(time.Millisecond))))
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		per[c] = make([]acc, *runs)
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cli := clientFor(cs, c)
			rand := rng(uint32(*seed)*7919 + uint32(c) + 1)
			for {
				start := time.Now()
				if !start.Before(end) {
					return
				}
				err := doOne(cli, rand, vals)
				stop := time.Now()
				if start.Before(origin) {
					continue
				}
				w := int(start.Sub(origin) / dur)
				if w >= *runs || stop.After(origin.Add(time.Duration(w+1)*dur)) {
					continue
				}
				a := &per[c][w]
				if err == nil {
					a.ops++
					a.lat = append(a.lat, float64(stop.Sub(start).Nanoseconds())/1e6)
				} else {
					a.errs++
					time.Sleep(10 * time.Millisecond)
				}
			}
		}(c)
	}
	wg.Wait()
	out := make([]window, *runs)
	for w := range out {
		out[w].Seconds = dur.Seconds()
		out[w].Lat = []float64{}
		for c := 0; c < *clients; c++ {
			out[w].Ops += per[c][w].ops
			out[w].Errors += per[c][w].errs
			out[w].Lat = append(out[w].Lat, per[c][w].lat...)
		}
	}
	emit(map[string]interface{}{"windows": out})
}

type segment struct {
	mu    sync.Mutex
	start time.Time
	w     window
}

func stream(cs []*clientv3.Client) {
	vals := values()
	var mu sync.Mutex
	segs := []*segment{{start: time.Now()}}
	current := func() *segment {
		mu.Lock()
		defer mu.Unlock()
		return segs[len(segs)-1]
	}
	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			mu.Lock()
			segs = append(segs, &segment{start: time.Now()})
			mu.Unlock()
		}
		close(stop)
	}()
	deadline := time.Now().Add(time.Duration(*maxMs) * time.Millisecond)
	var wg sync.WaitGroup
	for c := 0; c < *clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			cli := clientFor(cs, c)
			rand := rng(uint32(*seed)*7919 + uint32(c) + 1)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if time.Now().After(deadline) {
					return
				}
				s := current()
				t := time.Now()
				err := doOne(cli, rand, vals)
				lat := float64(time.Since(t).Nanoseconds()) / 1e6
				s.mu.Lock()
				if err == nil {
					s.w.Ops++
					s.w.Lat = append(s.w.Lat, lat)
				} else {
					s.w.Errors++
				}
				s.mu.Unlock()
				if err != nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}(c)
	}
	wg.Wait()
	end := time.Now()
	out := make([]window, len(segs))
	for i, s := range segs {
		until := end
		if i+1 < len(segs) {
			until = segs[i+1].start
		}
		out[i] = s.w
		if out[i].Lat == nil {
			out[i].Lat = []float64{}
		}
		out[i].Seconds = until.Sub(s.start).Seconds()
	}
	emit(map[string]interface{}{"segments": out})
}

func main() {
	flag.Parse()
	// clientv3 and grpc log reconnects to stderr; keep stderr for our own failures.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(ioutil.Discard, ioutil.Discard, os.Stderr))
	clientv3.SetLogger(grpclog.NewLoggerV2(ioutil.Discard, ioutil.Discard, os.Stderr))
	cs := dial()
	defer func() {
		for _, c := range cs {
			c.Close()
		}
	}()
	switch *mode {
	case "fill":
		fill(cs)
	case "load":
		load(cs)
	case "stream":
		stream(cs)
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}
