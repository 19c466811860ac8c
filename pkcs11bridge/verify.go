package pkcs11bridge

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/miekg/pkcs11"
)

// slotDescriptionLen is the size of CK_SLOT_INFO.slotDescription. OpenSC
// copies the PC/SC reader name into it and cuts longer names.
const slotDescriptionLen = 64

// Verify loads the PKCS#11 module named in req, finds the token by reader name
// and serial, reads its token information and mechanisms, logs in with the
// user PIN, lists the objects and logs out. Every step is recorded as a Check
// in the returned Report, so a token that fails verification yields a Report
// with failed checks and a nil error. The error is reserved for failures to
// run at all: the module cannot be loaded or initialized, or the slot list
// cannot be read.
//
// A module keeps state for the life of the process and OpenSC may serve files
// from its cache, so callers that need the token as it is now, right after
// provisioning, use VerifyInChild. Verify never writes the PIN anywhere except
// to C_Login.
func Verify(req Request) (Report, error) {
	report := Report{
		Module:     req.ModulePath,
		Slots:      []SlotInfo{},
		Mechanisms: []string{},
		Objects:    []ObjectInfo{},
	}

	ctx, err := loadModule(req.ModulePath)
	if err != nil {
		report.fail(CheckModule, err.Error())
		return report, err
	}
	defer ctx.Destroy()

	if err := ctx.Initialize(); err != nil {
		err = fmt.Errorf("initializing PKCS#11 module %s (C_Initialize): %w", req.ModulePath, err)
		report.fail(CheckModule, err.Error())
		return report, err
	}
	defer ctx.Finalize()
	report.pass(CheckModule, describeModule(ctx, req.ModulePath))

	slots, err := listSlots(ctx)
	if err != nil {
		err = fmt.Errorf("listing slots: %w", err)
		report.fail(CheckSlot, err.Error())
		return report, err
	}
	report.Slots = slots

	slot, reason := matchSlot(slots, req.Reader, req.Serial)
	if slot == nil {
		report.fail(CheckSlot, reason)
		return report, nil
	}
	report.Slot = slot
	report.pass(CheckSlot, reason)

	rawToken, err := ctx.GetTokenInfo(slot.ID)
	if err != nil {
		report.fail(CheckToken, fmt.Sprintf("reading token information of slot %d (C_GetTokenInfo): %v", slot.ID, err))
		return report, nil
	}
	token := convertTokenInfo(rawToken)
	report.Token = &token
	report.URI = TokenURI(token)
	checkTokenFlags(&report, rawToken)

	checkMechanisms(&report, ctx, slot.ID)

	session, err := ctx.OpenSession(slot.ID, pkcs11.CKF_SERIAL_SESSION)
	if err != nil {
		report.fail(CheckLogin, fmt.Sprintf("opening a session on slot %d (C_OpenSession): %v", slot.ID, err))
		return report, nil
	}
	defer ctx.CloseSession(session)

	loggedIn := login(&report, ctx, session, slot.ID, rawToken, req)

	listObjectsCheck(&report, ctx, session, loggedIn)

	if loggedIn {
		if err := ctx.Logout(session); err != nil {
			report.fail(CheckLogout, fmt.Sprintf("C_Logout failed: %v", err))
		} else {
			report.pass(CheckLogout, "logged out")
		}
	}
	return report, nil
}

// loadModule opens the module file. miekg/pkcs11 returns nil without the
// dlopen message, so the file is checked first to give a useful error.
func loadModule(path string) (*pkcs11.Ctx, error) {
	if path == "" {
		return nil, errors.New("loading PKCS#11 module: no module path given (see FindModule)")
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("loading PKCS#11 module: %w", err)
	}
	ctx := pkcs11.New(path)
	if ctx == nil {
		return nil, fmt.Errorf("loading PKCS#11 module %s: dlopen or C_GetFunctionList failed "+
			"(not a PKCS#11 module, built for another architecture, or a library it needs is missing)", path)
	}
	return ctx, nil
}

func describeModule(ctx *pkcs11.Ctx, path string) string {
	info, err := ctx.GetInfo()
	if err != nil {
		return fmt.Sprintf("loaded %s (C_GetInfo failed: %v)", path, err)
	}
	return fmt.Sprintf("loaded %s: %s, %s, library version %s",
		path, strings.TrimSpace(info.LibraryDescription), strings.TrimSpace(info.ManufacturerID), versionString(info.LibraryVersion))
}

// listSlots returns every slot that holds a token, with the token's label
// and serial. A slot whose token information cannot be read is listed with
// empty token fields.
func listSlots(ctx *pkcs11.Ctx) ([]SlotInfo, error) {
	ids, err := ctx.GetSlotList(true)
	if err != nil {
		return nil, fmt.Errorf("C_GetSlotList: %w", err)
	}
	slots := make([]SlotInfo, 0, len(ids))
	for _, id := range ids {
		info, err := ctx.GetSlotInfo(id)
		if err != nil {
			return nil, fmt.Errorf("C_GetSlotInfo for slot %d: %w", id, err)
		}
		slot := SlotInfo{
			ID:           id,
			Description:  strings.TrimSpace(info.SlotDescription),
			Manufacturer: strings.TrimSpace(info.ManufacturerID),
			Flags:        SlotFlagNames(info.Flags),
		}
		if token, err := ctx.GetTokenInfo(id); err == nil {
			slot.TokenLabel = strings.TrimSpace(token.Label)
			slot.TokenSerial = strings.TrimSpace(token.SerialNumber)
		}
		slots = append(slots, slot)
	}
	return slots, nil
}

// matchSlot picks the slot whose description names the reader and whose token
// serial equals serial. It never falls back to another slot: without a match
// it returns nil and a reason that lists what was seen.
func matchSlot(slots []SlotInfo, reader, serial string) (*SlotInfo, string) {
	reader = strings.TrimSpace(reader)
	serial = strings.TrimSpace(serial)
	if reader == "" {
		return nil, "no reader name given: the token is matched by reader name and serial, never by slot position"
	}
	if serial == "" {
		return nil, "no token serial given: the token is matched by reader name and serial, never by slot position"
	}

	var inReader []SlotInfo
	for _, s := range slots {
		if readerMatches(s.Description, reader) {
			inReader = append(inReader, s)
		}
	}
	if len(inReader) == 0 {
		return nil, fmt.Sprintf("no slot with a token in reader %q; slots with a token: %s", reader, describeSlots(slots))
	}

	var matches []SlotInfo
	var serials []string
	for _, s := range inReader {
		serials = append(serials, fmt.Sprintf("%q", s.TokenSerial))
		if strings.TrimSpace(s.TokenSerial) == serial {
			matches = append(matches, s)
		}
	}
	if len(matches) == 0 {
		return nil, fmt.Sprintf("reader %q has no token with serial %q; serials seen in that reader: %s",
			reader, serial, strings.Join(serials, ", "))
	}

	chosen := matches[0]
	reason := fmt.Sprintf("slot %d (%q) holds token %q with serial %q", chosen.ID, chosen.Description, chosen.TokenLabel, chosen.TokenSerial)
	if len(matches) > 1 {
		reason += fmt.Sprintf("; %d slots match, the first was used", len(matches))
	}
	return &chosen, reason
}

// readerMatches reports whether a slot description names the reader. OpenSC
// copies the reader name into the 64-byte description and cuts longer names,
// so a long reader name matches its first 64 bytes.
func readerMatches(description, reader string) bool {
	description = strings.TrimSpace(description)
	if description == "" {
		return false
	}
	if strings.Contains(description, reader) {
		return true
	}
	return len(reader) > slotDescriptionLen &&
		description == strings.TrimSpace(reader[:slotDescriptionLen])
}

func describeSlots(slots []SlotInfo) string {
	if len(slots) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(slots))
	for _, s := range slots {
		parts = append(parts, fmt.Sprintf("slot %d %q (serial %q)", s.ID, s.Description, s.TokenSerial))
	}
	return strings.Join(parts, ", ")
}

func convertTokenInfo(t pkcs11.TokenInfo) TokenInfo {
	return TokenInfo{
		Label:           strings.TrimSpace(t.Label),
		Manufacturer:    strings.TrimSpace(t.ManufacturerID),
		Model:           strings.TrimSpace(t.Model),
		Serial:          strings.TrimSpace(t.SerialNumber),
		Flags:           TokenFlagNames(t.Flags),
		RawFlags:        t.Flags,
		MinPINLen:       t.MinPinLen,
		MaxPINLen:       t.MaxPinLen,
		HardwareVersion: versionString(t.HardwareVersion),
		FirmwareVersion: versionString(t.FirmwareVersion),
	}
}

// checkTokenFlags records whether the token reports itself initialized with
// a user PIN set, as it must after provisioning.
func checkTokenFlags(report *Report, t pkcs11.TokenInfo) {
	var missing []string
	if t.Flags&pkcs11.CKF_TOKEN_INITIALIZED == 0 {
		missing = append(missing, "CKF_TOKEN_INITIALIZED")
	}
	if t.Flags&pkcs11.CKF_USER_PIN_INITIALIZED == 0 {
		missing = append(missing, "CKF_USER_PIN_INITIALIZED")
	}
	if len(missing) > 0 {
		report.fail(CheckToken, fmt.Sprintf("token flags lack %s; flags set: %s",
			strings.Join(missing, " and "), strings.Join(TokenFlagNames(t.Flags), ", ")))
		return
	}
	report.pass(CheckToken, "flags: "+strings.Join(TokenFlagNames(t.Flags), ", "))
}

func checkMechanisms(report *Report, ctx *pkcs11.Ctx, slotID uint) {
	mechanisms, err := ctx.GetMechanismList(slotID)
	if err != nil {
		report.fail(CheckMechanisms, fmt.Sprintf("C_GetMechanismList failed: %v", err))
		return
	}
	for _, m := range mechanisms {
		report.Mechanisms = append(report.Mechanisms, MechanismName(m.Mechanism))
	}
	if len(mechanisms) == 0 {
		report.fail(CheckMechanisms, "the token lists no mechanisms")
		return
	}
	report.pass(CheckMechanisms, fmt.Sprintf("%d mechanisms", len(mechanisms)))
}

// login presents the user PIN unless loginPrecheck rejects it, and records
// the outcome. It returns whether the session is logged in.
func login(report *Report, ctx *pkcs11.Ctx, session pkcs11.SessionHandle, slotID uint, token pkcs11.TokenInfo, req Request) bool {
	if reason := loginPrecheck(req.PIN, token, req.UserPINTriesLeft, req.Force); reason != "" {
		report.fail(CheckLogin, reason)
		return false
	}

	err := ctx.Login(session, pkcs11.CKU_USER, string(req.PIN))
	if err == nil {
		report.pass(CheckLogin, "logged in as user")
		return true
	}

	reason := diagnoseLoginError(err, len(req.PIN))
	var rv pkcs11.Error
	if errors.As(err, &rv) && rv == pkcs11.CKR_USER_ALREADY_LOGGED_IN {
		report.pass(CheckLogin, reason)
		return true
	}
	if errors.As(err, &rv) && rv == pkcs11.CKR_PIN_INCORRECT {
		if after, infoErr := ctx.GetTokenInfo(slotID); infoErr == nil {
			reason += "; token flags now: " + strings.Join(TokenFlagNames(after.Flags), ", ")
		}
	}
	report.fail(CheckLogin, reason)
	return false
}

// listObjectsCheck lists every object the session can see: all objects after
// login, the public ones otherwise.
func listObjectsCheck(report *Report, ctx *pkcs11.Ctx, session pkcs11.SessionHandle, loggedIn bool) {
	objects, err := listObjects(ctx, session)
	if err != nil {
		report.fail(CheckObjects, err.Error())
		return
	}
	report.Objects = objects
	scope := "after login"
	if !loggedIn {
		scope = "public objects only, not logged in"
	}
	report.pass(CheckObjects, fmt.Sprintf("objects listed: %d (%s)", len(objects), scope))
}

func listObjects(ctx *pkcs11.Ctx, session pkcs11.SessionHandle) ([]ObjectInfo, error) {
	if err := ctx.FindObjectsInit(session, nil); err != nil {
		return nil, fmt.Errorf("C_FindObjectsInit failed: %w", err)
	}
	var handles []pkcs11.ObjectHandle
	for {
		batch, _, err := ctx.FindObjects(session, 64)
		if err != nil {
			ctx.FindObjectsFinal(session)
			return nil, fmt.Errorf("C_FindObjects failed: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		handles = append(handles, batch...)
	}
	if err := ctx.FindObjectsFinal(session); err != nil {
		return nil, fmt.Errorf("C_FindObjectsFinal failed: %w", err)
	}

	objects := make([]ObjectInfo, 0, len(handles))
	for _, h := range handles {
		// Each attribute is read on its own because one unreadable attribute
		// makes C_GetAttributeValue fail for the whole template.
		object := ObjectInfo{Class: "unknown"}
		if value, ok := readAttribute(ctx, session, h, pkcs11.CKA_CLASS); ok {
			if class, ok := decodeULong(value); ok {
				object.Class = ObjectClassName(class)
			}
		}
		if value, ok := readAttribute(ctx, session, h, pkcs11.CKA_LABEL); ok {
			object.Label = string(value)
		}
		if value, ok := readAttribute(ctx, session, h, pkcs11.CKA_ID); ok {
			object.ID = hex.EncodeToString(value)
		}
		objects = append(objects, object)
	}
	return objects, nil
}

func readAttribute(ctx *pkcs11.Ctx, session pkcs11.SessionHandle, object pkcs11.ObjectHandle, attribute uint) ([]byte, bool) {
	attrs, err := ctx.GetAttributeValue(session, object, []*pkcs11.Attribute{pkcs11.NewAttribute(attribute, nil)})
	if err != nil || len(attrs) != 1 {
		return nil, false
	}
	return attrs[0].Value, true
}

// decodeULong decodes a CK_ULONG attribute value, which the module returns in
// the host's byte order and word size.
func decodeULong(b []byte) (uint, bool) {
	switch len(b) {
	case 8:
		return uint(binary.NativeEndian.Uint64(b)), true
	case 4:
		return uint(binary.NativeEndian.Uint32(b)), true
	}
	return 0, false
}
