package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/jft-gateway/jft-gateway/jftsim"
)

func TestServesTheWriteAPI(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan *jftsim.Server, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		done <- serve(ctx, nil, func(k string) string {
			return map[string]string{"JFT_SIM_ADDR": "127.0.0.1:0", "JFT_SIM_AUTH": "off"}[k]
		}, &out, ready)
	}()
	srv := <-ready
	body := `{"resourceType":"Composition","status":"final","type":{"text":"note"},"date":"2026-01-01","author":[{"display":"x"}],"title":"t"}`
	resp, err := http.Post(srv.URL+"/v1/Composition", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(resp.Header.Get("Location"), srv.URL+"/v1/Composition/") {
		t.Fatalf("status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), srv.URL) {
		t.Errorf("did not print its URL: %s", out.String())
	}
}

func TestHelpAndBadConfig(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"JFT_SIM_ADDR", "127.0.0.1:8088", "JFT_SIM_ENVIRONMENT", "JFT_SIM_AUTH", "JFT_SIM_ERROR_RATES"} {
		if !strings.Contains(out.String(), v) {
			t.Errorf("help lacks %s", v)
		}
	}
	err := run(context.Background(), nil, func(k string) string { return map[string]string{"JFT_SIM_ENVIRONMENT": "staging"}[k] }, &out)
	if err == nil || !strings.Contains(err.Error(), "JFT_SIM_ENVIRONMENT") {
		t.Fatalf("err %v", err)
	}
}
