package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"runtime"
	"time"
)

// checkPprofAddr accepts "off" (or nothing) and a host:port whose host is a loopback IP
// address: the profiles show the node's memory and code paths, which no other host may
// read.
func checkPprofAddr(addr string) error {
	if addr == "off" || addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want a loopback host:port such as 127.0.0.1:6060: %w", err)
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New("want a loopback IP address such as 127.0.0.1:6060")
	}
	return nil
}

// Sampling of the contention profiles while the debug listener is on: one mutex
// contention event in pprofMutexFraction, and blocking events of at least
// pprofBlockRate nanoseconds (shorter ones in proportion).
const (
	pprofMutexFraction = 20
	pprofBlockRate     = 10_000
)

// startPprof serves net/http/pprof's handlers at /debug/pprof/ on addr (checked by
// checkPprofAddr) and turns on the mutex and block profiles, until ctx ends. It returns
// the listener's address.
func startPprof(ctx context.Context, addr string, log *slog.Logger) (string, error) {
	if err := checkPprofAddr(addr); err != nil {
		return "", fmt.Errorf("--pprof: %w", err)
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return "", fmt.Errorf("--pprof: %w", err)
	}
	runtime.SetMutexProfileFraction(pprofMutexFraction)
	runtime.SetBlockProfileRate(pprofBlockRate)
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("pprof server", "err", err)
		}
	}()
	log.Info("serving Go profiles (debug)", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/debug/pprof/")
	return ln.Addr().String(), nil
}
