package main

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	k := newKafka(t, false)
	out, _, err := k.jftctl("help")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands() {
		if !strings.Contains(out, "  "+c.name+" ") {
			t.Errorf("help lacks %q:\n%s", c.name, out)
		}
	}
	if !strings.Contains(out, "JFT_KAFKA_BROKERS") {
		t.Errorf("help does not name the brokers variable:\n%s", out)
	}

	// A command's flags: on stdout with help, on stderr with -h; neither is an error.
	out, _, err = k.jftctl("help", "dlq", "replay")
	if err != nil || !strings.Contains(out, "usage: jftctl dlq replay") || !strings.Contains(out, "-dry-run") {
		t.Errorf("help dlq replay: %v\n%s", err, out)
	}
	for _, c := range commands() {
		args := append(strings.Fields(c.name), "-h")
		out, stderr, err := k.jftctl(args...)
		if err != nil || out != "" || !strings.Contains(stderr, "usage: jftctl "+c.name) || !strings.Contains(stderr, c.summary) {
			t.Errorf("%s: %v\nstdout %q\nstderr %s", strings.Join(args, " "), err, out, stderr)
		}
		if c.name != "validate" && !strings.Contains(stderr, "-brokers") {
			t.Errorf("%s -h lacks -brokers:\n%s", c.name, stderr)
		}
	}
}

func TestUnknownCommandsAndFlags(t *testing.T) {
	k := newKafka(t, false)
	for _, args := range [][]string{{"frobnicate"}, {"topics"}, {"topics", "delete"}, {"results"}, {"help", "frobnicate"}, {"lag", "-no-such-flag"}} {
		if _, _, err := k.jftctl(args...); err == nil {
			t.Errorf("%v succeeded", args)
		}
	}
	k.env["JFT_KAFKA_FETCH_MAX_WAIT"] = "soon"
	if _, _, err := k.jftctl("lag"); err == nil || !strings.Contains(err.Error(), "JFT_KAFKA_FETCH_MAX_WAIT") {
		t.Errorf("a bad gateway variable: %v", err)
	}
}
