package provision

import (
	"bytes"
	"fmt"

	schsm "github.com/sc-hsm-init/sc-hsm-init/sc-hsm"
	"github.com/sc-hsm-init/sc-hsm-init/sc-hsm/dkek"
)

// Planned is one command of a dry run and the step that sends it. Format
// Cmd with schsm.MaskCommand, because it carries PINs and shares.
type Planned struct {
	Step string
	Cmd  schsm.Command
}

// Plan returns the commands Run would send for req to a blank device whose
// SELECT response matches dev. It runs Run itself against an in-process
// model of a blank device, so the list cannot drift from what Run does.
//
// The model's device certificate is short, so a real device needs more
// READ BINARY commands than the list shows for the serial number. Plan
// returns the same validation errors as Run.
func Plan(req Request, dev schsm.DeviceInfo) ([]Planned, error) {
	model := &blankDevice{dev: dev, settings: req.Settings}
	var planned []Planned
	step := ""
	model.record = func(cmd schsm.Command) {
		planned = append(planned, Planned{Step: step, Cmd: cmd})
	}

	_, err := Run(schsm.NewCard(model), req, func(s string) { step = s })
	if err != nil {
		return planned, fmt.Errorf("planning: %w", err)
	}
	return planned, nil
}

// blankDevice is the model of a blank SmartCard-HSM that Plan runs against.
// It returns just enough for Run to take its normal path and records every
// command. It checks neither PINs nor the SO-PIN.
type blankDevice struct {
	dev      schsm.DeviceInfo
	settings schsm.Settings
	record   func(schsm.Command)

	initialized   bool
	authenticated bool
	pinChanged    bool // CHANGE REFERENCE DATA ended transport-PIN mode
	options       uint16
	shares        [][32]byte
	domains       map[byte]*planDomain // key domains, with Settings.KeyDomains
}

// planCHR is the certificate holder reference of the model's device
// certificate.
const planCHR = "DRYRUN00001"

// Status words the model returns.
const (
	swOK               = 0x9000
	swFileNotFound     = 0x6A82
	swIncorrectP1P2    = 0x6A86
	swReferenceMissing = 0x6A88
	swWrongP1P2        = 0x6B00
	swTransportPIN     = 0x6984
	swSecurityStatus   = 0x6982
	swINSNotSupported  = 0x6D00
)

func (d *blankDevice) Transmit(apdu []byte) ([]byte, error) {
	cmd, err := schsm.ParseCommand(apdu)
	if err != nil {
		return nil, err
	}
	d.record(cmd)
	data, sw := d.answer(cmd)
	return append(data, byte(sw>>8), byte(sw)), nil
}

func (d *blankDevice) answer(cmd schsm.Command) ([]byte, uint16) {
	switch {
	case cmd.INS == 0xA4 && cmd.P1 == 0x04:
		d.authenticated = false
		return d.selectAnswer(), swOK

	case cmd.INS == 0xA4 && cmd.P1 == 0x00:
		if !d.initialized || !bytes.Equal(cmd.Data, []byte{0x2F, 0x02}) {
			return nil, swFileNotFound
		}
		cert := planCertificate()
		return []byte{0x62, 0x04, 0x81, 0x02, byte(len(cert) >> 8), byte(len(cert))}, swOK

	case cmd.INS == 0xB1:
		return planCertificate(), swOK

	case cmd.INS == 0x20:
		return nil, d.verifyAnswer(cmd)

	case cmd.INS == 0x24 && cmd.P2 == schsm.PINRefUser:
		if !d.initialized {
			return nil, swReferenceMissing
		}
		d.pinChanged, d.authenticated = true, true
		return nil, swOK

	case cmd.INS == 0x50:
		d.initialized, d.authenticated = true, true
		d.options = d.sentOptions(cmd.Data)
		return nil, swOK

	case cmd.INS == 0x52 && d.settings.KeyDomains > 0 && d.initialized:
		return d.keyDomainAnswer(cmd)

	case cmd.INS == 0x52 && cmd.P1 == 0x00:
		return d.dkekAnswer(cmd)

	case cmd.INS == 0xD7:
		// UPDATE BINARY, which Run sends only for EF.TokenInfo.
		if !d.authenticated {
			return nil, swSecurityStatus
		}
		return nil, swOK

	case cmd.INS == 0x54:
		s := d.settings
		if !d.initialized || s.PKATotal == 0 {
			return nil, swIncorrectP1P2
		}
		return []byte{byte(s.PKATotal), byte(s.PKATotal), byte(s.PKARequired), 0}, swOK

	default:
		return nil, swINSNotSupported
	}
}

func (d *blankDevice) selectAnswer() []byte {
	options := uint16(d.dev.OptionsHigh)<<8 | uint16(d.dev.OptionsLow)
	if d.initialized {
		options = d.options
	}
	typ := d.dev.Type
	if d.dev.Family == schsm.FamilyPicoHSM {
		typ = 0xFF
	}
	major, minor := d.dev.VersionMajor, d.dev.VersionMinor
	if major == 0 && minor == 0 {
		major, minor = 3, 0
	}
	return []byte{0x62, 0x07, 0x85, 0x05, byte(options >> 8), byte(options), typ, major, minor}
}

func (d *blankDevice) verifyAnswer(cmd schsm.Command) uint16 {
	s := d.settings
	switch {
	case !d.initialized:
		return swReferenceMissing
	case cmd.P2 == schsm.PINRefSOPIN:
		return 0x63CF
	case cmd.P2 != schsm.PINRefUser:
		return swReferenceMissing
	case s.UserPIN.IsZero():
		return swReferenceMissing
	case s.TransportPIN && !d.pinChanged:
		return swTransportPIN
	case len(cmd.Data) > 0:
		d.authenticated = true
		return swOK
	case d.authenticated:
		return swOK
	default:
		return 0x63C0 | uint16(s.Retries&0x0F)
	}
}

// sentOptions returns the options of an INITIALIZE data field, whose first
// TLV is always tag 80 from schsm.InitializeCommand.
func (d *blankDevice) sentOptions(data []byte) uint16 {
	if len(data) >= 4 && data[0] == 0x80 && data[1] == 0x02 {
		return uint16(data[2])<<8 | uint16(data[3])
	}
	return 0
}

func (d *blankDevice) dkekAnswer(cmd schsm.Command) ([]byte, uint16) {
	s := d.settings
	if !d.initialized || s.DKEKShares == schsm.NoDKEK {
		return nil, swWrongP1P2
	}
	if s.KeyDomains > 0 || cmd.P2 != 0 {
		return nil, swReferenceMissing
	}
	if len(cmd.Data) == schsm.DKEKShareSize {
		var share [32]byte
		copy(share[:], cmd.Data)
		d.shares = append(d.shares, share)
	}

	total := s.DKEKShares
	outstanding := total - len(d.shares)
	if total == 0 {
		total, outstanding = 1, 0 // random DKEK, reported as one share present
	}
	var kcv [8]byte
	if outstanding == 0 {
		kcv = dkek.KCV(dkek.Combine(d.shares...))
	}
	return append([]byte{byte(total), byte(outstanding)}, kcv[:]...), swOK
}

// planCertificate returns a CV certificate that holds only a CHR, which is
// all that reading the serial number needs.
func planCertificate() []byte {
	chr := append([]byte{0x5F, 0x20, byte(len(planCHR))}, planCHR...)
	body := append([]byte{0x7F, 0x4E, byte(len(chr))}, chr...)
	return append([]byte{0x7F, 0x21, byte(len(body))}, body...)
}
