package schsm

import (
	"fmt"
	"strings"
	"time"
)

// TraceEntry records one APDU round trip. Command is the command APDU in
// hex with secret bytes replaced by "**"; Response is the response data in
// hex, without the status word, with secret bytes masked the same way. SW
// is 0 when the transmission failed.
type TraceEntry struct {
	Command  string
	Response string
	SW       uint16
	Duration time.Duration
}

// MaskCommand formats cmd as space-separated hex bytes, as Encode would send
// it, with every secret byte replaced by "**". Secret are the data of VERIFY,
// CHANGE REFERENCE DATA and RESET RETRY COUNTER, the values of tags 81 (user
// PIN) and 82 (SO-PIN) in INITIALIZE, and the share sent by IMPORT DKEK SHARE.
func MaskCommand(cmd Command) string {
	return maskCommand(cmd, cmd.Extended())
}

func maskCommand(cmd Command, extended bool) string {
	var raw []byte
	var err error
	if extended {
		raw, err = cmd.EncodeExtended()
	} else {
		raw, err = cmd.Encode()
	}
	if err != nil {
		return cmd.String()
	}

	dataStart := 5
	if extended {
		dataStart = 7
	}
	secret := secretDataBytes(cmd)

	var b strings.Builder
	for i, c := range raw {
		if i > 0 {
			b.WriteByte(' ')
		}
		j := i - dataStart
		if len(cmd.Data) > 0 && j >= 0 && j < len(cmd.Data) && secret[j] {
			b.WriteString("**")
			continue
		}
		b.WriteString(hexByte(c))
	}
	return b.String()
}

func hexByte(c byte) string {
	const digits = "0123456789ABCDEF"
	return string([]byte{digits[c>>4], digits[c&0x0F]})
}

// secretDataBytes marks which bytes of the data field of cmd are secret.
func secretDataBytes(cmd Command) []bool {
	secret := make([]bool, len(cmd.Data))
	all := func() {
		for i := range secret {
			secret[i] = true
		}
	}

	switch {
	case cmd.INS == insVerify || cmd.INS == insChangeReference || cmd.INS == insResetRetryCounter:
		all()
	case cmd.CLA&0xF0 == claProprietary && cmd.INS == insManageKeyDomain && cmd.P1 == 0x00:
		all()
	case cmd.CLA&0xF0 == claProprietary && cmd.INS == insInitialize:
		if !markInitializeSecrets(cmd.Data, secret) {
			all()
		}
	}
	return secret
}

// markInitializeSecrets marks the values of tags 81 and 82. It returns false
// when the data does not decode, so that the caller masks everything.
func markInitializeSecrets(data []byte, secret []bool) bool {
	rest := data
	for len(rest) > 0 {
		obj, next, err := parseBERTLV(rest)
		if err != nil {
			return false
		}
		if obj.Tag == tagInitUserPIN || obj.Tag == tagInitSOPIN {
			end := len(data) - len(next)
			for i := end - len(obj.Value); i < end; i++ {
				secret[i] = true
			}
		}
		rest = next
	}
	return true
}

// maskResponse formats the response data to cmd in hex. The random bytes
// of GET CHALLENGE are masked, because dkek create XORs them into a new
// DKEK share.
//
// NOTE: when GET CHALLENGE is answered with 61xx, GET RESPONSE fetches the
// bytes and is traced unmasked; the SmartCard-HSM answers directly.
func maskResponse(cmd Command, data []byte) string {
	if cmd.INS != insGetChallenge {
		return fmt.Sprintf("%X", data)
	}
	return strings.Repeat("**", len(data))
}
