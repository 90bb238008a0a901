package feedback

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// ServeOptions configure Serve (`fleetc feedback serve`).
type ServeOptions struct {
	Listen   string // host:port; port 0 picks one (logged as "listening")
	DSN      string // sqlite:PATH or postgres://…
	Root     string // the fleet monorepo: agent public keys and rings
	CacheDir string // the loader's cache, "" for none
	TLSCert  string // with TLSKey: serve HTTPS
	TLSKey   string
	Reload   time.Duration // how often to look for fleet edits; 0 means 30 s
	Server   ServerOptions
	DB       DBOptions
	// Listening, when set, is called with the bound address.
	Listening func(addr string)
}

// Serve runs the collector until ctx ends, then stops taking requests,
// lets the ones in flight finish (their reports committed or refused) and
// closes the database.
func Serve(ctx context.Context, o ServeOptions) error {
	log := o.Server.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
		o.Server.Log = log
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if o.Reload <= 0 {
		o.Reload = 30 * time.Second
	}
	fleet, err := LoadFleet(ctx, o.Root, o.CacheDir)
	if err != nil {
		return err
	}
	db, err := Open(ctx, o.DSN, o.DB)
	if err != nil {
		return err
	}
	defer db.Close()
	srv := NewServer(db, fleet, o.Server)
	ln, err := net.Listen("tcp", o.Listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", o.Listen, err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	scheme := "http"
	if o.TLSCert != "" {
		scheme = "https"
	}
	log.Info("listening", "addr", ln.Addr().String(), "scheme", scheme, "db", db.Kind(), "stores", len(fleet.Stores), "keys", len(fleet.Keys), "fleet", fleet.Digest)
	if o.Listening != nil {
		o.Listening(ln.Addr().String())
	}
	go reloadLoop(ctx, o, srv, log)
	errc := make(chan error, 1)
	go func() {
		if o.TLSCert != "" {
			errc <- hs.ServeTLS(ln, o.TLSCert, o.TLSKey)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	return nil
}

// reloadLoop reloads the fleet when its files change. A fleet with errors
// keeps the previous one in use and is logged as an error each time.
func reloadLoop(ctx context.Context, o ServeOptions, srv *Server, log *slog.Logger) {
	t := time.NewTicker(o.Reload)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := srv.fleet.Load()
		digest, err := fleetDigest(o.Root)
		if err != nil || digest == cur.Digest {
			continue
		}
		f, err := LoadFleet(ctx, o.Root, o.CacheDir)
		srv.Reloaded(err)
		if err != nil {
			log.Error("fleet reload failed; the previous keys stay in use", "error", err.Error())
			// Try again only when the files change again.
			srv.SetFleet(withDigest(cur, digest))
			continue
		}
		srv.SetFleet(f)
		log.Info("fleet reloaded", "stores", len(f.Stores), "keys", len(f.Keys), "fleet", f.Digest)
	}
}

func withDigest(f *Fleet, digest string) *Fleet {
	c := *f
	c.Digest = digest
	return &c
}
