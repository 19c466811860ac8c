package teststack

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// defaultWaitTimeout applies when the context passed to a wait has no
// deadline. In this package's tests a card showed up within half a second of
// Start, so the limit only bounds a broken stack.
const defaultWaitTimeout = 20 * time.Second

// WaitCardPresent polls "opensc-tool -l" until Reader shows a card, or
// returns an error with the last listing when ctx ends. Without a deadline
// on ctx it gives up after 20 s.
func (s *Stack) WaitCardPresent(ctx context.Context) error {
	return s.waitCard(ctx, true)
}

// WaitCardAbsent polls "opensc-tool -l" until Reader shows no card.
func (s *Stack) WaitCardAbsent(ctx context.Context) error {
	return s.waitCard(ctx, false)
}

func (s *Stack) waitCard(ctx context.Context, want bool) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultWaitTimeout)
		defer cancel()
	}

	var listing string
	for {
		out, err := s.Command(ctx, s.tools.openscTool, "-l").CombinedOutput()
		listing = string(out)
		if err == nil {
			if present, found := cardPresent(listing, s.Reader); found && present == want {
				return nil
			}
		}

		select {
		case <-ctx.Done():
			state := "present"
			if !want {
				state = "absent"
			}
			return fmt.Errorf("waiting for card %s in %q: %w\nlast opensc-tool -l output:\n%s", state, s.Reader, ctx.Err(), listing)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// cardPresent parses "opensc-tool -l" output (OpenSC 0.23), whose reader
// lines read "<Nr.> <Yes|No> [features] <reader name>", and reports whether
// reader holds a card and whether the reader was listed at all.
func cardPresent(listing, reader string) (present, found bool) {
	for _, line := range strings.Split(listing, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasSuffix(line, reader) {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[1] {
		case "Yes":
			return true, true
		case "No":
			return false, true
		}
	}
	return false, false
}
