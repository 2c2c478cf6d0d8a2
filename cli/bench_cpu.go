package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipledger/ipledger/client"
)

// cpuWindow measures the nodes' process CPU over bench load's window, from their /metrics
// (process_cpu_seconds_total), so a leaner load generator cannot pass for a faster node.
type cpuWindow struct {
	before float64
	err    error // reading before, or after once done is closed
	done   chan struct{}
	after  float64
}

// startCPUWindow reads the nodes' CPU seconds now and again dur later.
func startCPUWindow(ctx context.Context, cls []*client.Client, dur time.Duration) *cpuWindow {
	w := &cpuWindow{done: make(chan struct{})}
	w.before, w.err = nodesCPU(ctx, cls)
	go func() {
		defer close(w.done)
		t := time.NewTimer(dur)
		defer t.Stop()
		select {
		case <-ctx.Done():
			w.err = errors.Join(w.err, ctx.Err())
			return
		case <-t.C:
		}
		after, err := nodesCPU(ctx, cls)
		w.after, w.err = after, errors.Join(w.err, err)
	}()
	return w
}

// seconds waits for the window's end and returns the CPU seconds the nodes used in it.
func (w *cpuWindow) seconds() (float64, error) {
	<-w.done
	if w.err != nil {
		return 0, w.err
	}
	return w.after - w.before, nil
}

// nodesCPU sums process_cpu_seconds_total over the nodes, read concurrently.
func nodesCPU(ctx context.Context, cls []*client.Client) (float64, error) {
	var mu sync.Mutex
	var sum float64
	var errs []error
	var wg sync.WaitGroup
	for _, c := range cls {
		wg.Go(func() {
			v, err := nodeCPU(ctx, c)
			mu.Lock()
			defer mu.Unlock()
			sum += v
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return sum, errors.Join(errs...)
}

// nodeCPU reads process_cpu_seconds_total from c's node's /metrics.
func nodeCPU(ctx context.Context, c *client.Client) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.Base, "/")+"/metrics", nil)
	if err != nil {
		return 0, fmt.Errorf("node cpu: %w", err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("node cpu: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("node cpu: %s/metrics: %s", c.Base, resp.Status)
	}
	return parseCPUSeconds(resp.Body)
}

// parseCPUSeconds finds process_cpu_seconds_total in a Prometheus text exposition.
func parseCPUSeconds(r interface{ Read([]byte) (int, error) }) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return 0, fmt.Errorf("node cpu: process_cpu_seconds_total %q: %w", v, err)
		}
		return f, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("node cpu: reading /metrics: %w", err)
	}
	return 0, errors.New("node cpu: no process_cpu_seconds_total in /metrics")
}
