package provision

import (
	"errors"
	"fmt"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
)

// StepChangeTransportPIN is the step that replaces the transport PIN with
// Request.NewPIN right after INITIALIZE.
const StepChangeTransportPIN = "change transport PIN"

// Erasure describes the objects that initializing an initialized device
// again destroys. The preflight counts them with ENUMERATE OBJECTS, which
// needs no PIN.
type Erasure struct {
	Objects schsm.ObjectCounts `json:"objects"`

	// Counted is false when ENUMERATE OBJECTS failed, so Objects is unknown.
	Counted bool `json:"counted"`

	// SOPINTriesLeft is the SO-PIN retry counter before INITIALIZE presents
	// the SO-PIN, or -1 when the device does not report it (a Pico HSM
	// returns 9000 to the query).
	SOPINTriesLeft int `json:"so_pin_tries_left"`
}

// ErrPicoTransportPIN means that the device is a Pico HSM whose firmware
// never leaves transport-PIN mode. Run returns it, before INITIALIZE, for a
// transport PIN without Force, and for a NewPIN in any case, because the
// change cannot make the PIN usable.
var ErrPicoTransportPIN = errors.New("this Pico HSM firmware never leaves transport-PIN mode")

// picoKeepsTransportPIN reports whether dev is a Pico HSM whose firmware
// keeps option 0002 after CHANGE REFERENCE DATA, so that every user PIN
// VERIFY returns SW 6984 for good. Pico HSM firmware 6.6 does.
//
// NOTE: firmware after 6.x was not examined; it is assumed to behave the
// same until a recording shows otherwise.
func picoKeepsTransportPIN(dev schsm.DeviceInfo) bool {
	return dev.Family == schsm.FamilyPicoHSM && dev.VersionMajor <= 6
}

// checkNewPIN validates Request.NewPIN without the card.
func checkNewPIN(req Request) error {
	if req.NewPIN.IsZero() {
		return nil
	}
	s := req.Settings
	var problems []schsm.Problem
	if !s.TransportPIN {
		problems = append(problems, schsm.Problem{Field: FieldNewPIN,
			Message: "a new PIN replaces a transport PIN right after initialization; add --transport-pin or drop --new-pin"})
	}
	if err := schsm.ValidateUserPIN(req.NewPIN); err != nil {
		problems = append(problems, schsm.Problem{Field: FieldNewPIN, Message: "new PIN: " + err.Error()})
	}
	if !s.UserPIN.IsZero() && req.NewPIN.Equal(s.UserPIN) {
		problems = append(problems, schsm.Problem{Field: FieldNewPIN,
			Message: "the new PIN equals the transport PIN; choose a PIN that differs from the transport PIN"})
	}
	if len(problems) > 0 {
		return &schsm.ValidationError{Problems: problems}
	}
	return nil
}

// FieldNewPIN names Request.NewPIN in a schsm.Problem, as the init flag.
const FieldNewPIN = "new-pin"

// checkPicoTransportPIN rejects a transport PIN on a Pico HSM that cannot
// leave transport-PIN mode, unless forced, and a new PIN there in any case.
func (r *runner) checkPicoTransportPIN(dev schsm.DeviceInfo) error {
	if !r.req.Settings.TransportPIN || !picoKeepsTransportPIN(dev) {
		return nil
	}
	if !r.req.NewPIN.IsZero() {
		return fmt.Errorf("%w (firmware %s): changing the transport PIN leaves every user PIN VERIFY failing with SW 6984; "+
			"initialize without --transport-pin and set the user's own PIN with --pin", ErrPicoTransportPIN, dev.Version())
	}
	if !r.req.Force && !r.req.Settings.Force {
		return fmt.Errorf("%w (firmware %s): the user PIN stays unusable, and every user PIN VERIFY fails with SW 6984; "+
			"initialize without --transport-pin, or give --force to initialize with a transport PIN anyway", ErrPicoTransportPIN, dev.Version())
	}
	return nil
}

// countErasure counts what INITIALIZE will erase on an initialized device
// and passes it to Request.BeforeErase. A failed count is a warning, not an
// error, because it does not change what INITIALIZE does.
func (r *runner) countErasure(before schsm.DeviceStatus) error {
	erased := Erasure{SOPINTriesLeft: before.SOPIN.KnownTriesLeft()}
	counts, err := r.card.CountObjects()
	if err != nil {
		r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("the objects on the device could not be counted: %v", err))
	} else {
		erased.Objects, erased.Counted = counts, true
	}
	r.res.Erased = &erased

	if r.req.BeforeErase != nil {
		if err := r.req.BeforeErase(erased); err != nil {
			return err
		}
	}
	return nil
}

// transportActive reports whether the device stays in transport-PIN mode
// after Run, because no new PIN replaces the transport PIN.
func (r *runner) transportActive() bool {
	return r.req.Settings.TransportPIN && r.req.NewPIN.IsZero()
}

// changeTransportPIN replaces the transport PIN with Request.NewPIN in the
// session that INITIALIZE opened, so that the device never waits in
// transport-PIN mode. CHANGE REFERENCE DATA with the transport PIN as the
// old value ends the mode on a SmartCard-HSM.
func (r *runner) changeTransportPIN() error {
	if r.req.NewPIN.IsZero() {
		return nil
	}
	r.begin(StepChangeTransportPIN)
	err := r.card.ChangePIN(schsm.PINRefUser, r.req.Settings.UserPIN.Bytes(), r.req.NewPIN.Bytes())
	if err != nil {
		return r.fail(StepChangeTransportPIN, err)
	}
	r.done(StepChangeTransportPIN, "the transport PIN is replaced by the new PIN")
	return nil
}

// sessionPIN returns the user PIN that is valid after Run: the new PIN
// when one replaced the transport PIN, else Settings.UserPIN.
func (r *runner) sessionPIN() schsm.Secret {
	if !r.req.NewPIN.IsZero() {
		return r.req.NewPIN
	}
	return r.req.Settings.UserPIN
}
