package schsm

import (
	"errors"
	"testing"
)

// exclusiveFake adds exclusive connections to fakePCSC; exclusiveErr is
// what ConnectExclusive returns instead of a card.
type exclusiveFake struct {
	*fakePCSC
	exclusiveErr error
	exclusive    int
}

func (f *exclusiveFake) ConnectExclusive(reader string) (pcscCard, error) {
	if f.exclusiveErr != nil {
		return nil, f.exclusiveErr
	}
	f.exclusive++
	return f.fakePCSC.Connect(reader)
}

func TestConnectExclusive(t *testing.T) {
	f := &exclusiveFake{fakePCSC: newFakePCSC(t).add("Reader 0", fakeReader{selectAnswer: "9000"})}
	tr, err := (&PCSCContext{sys: f}).ConnectExclusive("Reader 0")
	if err != nil {
		t.Fatalf("ConnectExclusive: %v", err)
	}
	if tr.Reader() != "Reader 0" || f.exclusive != 1 {
		t.Errorf("reader %q, exclusive connections %d", tr.Reader(), f.exclusive)
	}
}

func TestConnectExclusiveSharingViolation(t *testing.T) {
	f := &exclusiveFake{fakePCSC: newFakePCSC(t), exclusiveErr: ErrSharingViolation}
	_, err := (&PCSCContext{sys: f}).ConnectExclusive("Reader 0")
	if !errors.Is(err, ErrSharingViolation) {
		t.Errorf("error %v, want ErrSharingViolation", err)
	}
}

func TestConnectExclusiveUnsupported(t *testing.T) {
	_, err := (&PCSCContext{sys: newFakePCSC(t)}).ConnectExclusive("Reader 0")
	if !errors.Is(err, ErrExclusiveUnsupported) {
		t.Errorf("error %v, want ErrExclusiveUnsupported", err)
	}
}
