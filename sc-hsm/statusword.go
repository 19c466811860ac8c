package schsm

// Status words used by the SmartCard-HSM family (ISO/IEC 7816-4 values with
// the meanings the SmartCard-HSM and Pico HSM firmware give them).
const (
	SWOK                     uint16 = 0x9000
	SWOKAuthenticated        uint16 = 0x9001 // PKA enumerate: key authenticated in this session
	SWEndOfFile              uint16 = 0x6282
	SWExecutionError         uint16 = 0x6400
	SWMemoryFailure          uint16 = 0x6581
	SWWrongLength            uint16 = 0x6700
	SWCommandNotAllowedBase  uint16 = 0x6900
	SWSecurityStatus         uint16 = 0x6982
	SWPINBlocked             uint16 = 0x6983
	SWTransportPIN           uint16 = 0x6984 // also "reference data not usable"
	SWConditionsNotSatisfied uint16 = 0x6985
	SWCommandNotAllowed      uint16 = 0x6986
	SWWrongData              uint16 = 0x6A80
	SWFileNotFound           uint16 = 0x6A82
	SWNoFreeSlot             uint16 = 0x6A84 // PKA: every public key slot is used
	SWIncorrectP1P2          uint16 = 0x6A86
	SWReferenceNotFound      uint16 = 0x6A88 // PIN not initialized, undefined key domain, unknown CHR
	SWKeyDomainNotEmpty      uint16 = 0x6A89
	SWWrongP1P2              uint16 = 0x6B00
	SWINSNotSupported        uint16 = 0x6D00
	SWCLANotSupported        uint16 = 0x6E00
	SWNoPreciseDiagnosis     uint16 = 0x6F00
)

// SW1 values with a length in SW2.
const (
	SW1MoreData     byte = 0x61 // 61xx: xx more bytes wait for GET RESPONSE
	SW1WrongLe      byte = 0x6C // 6Cxx: re-send with Le = xx
	SW1PINTriesLeft byte = 0x63 // 63Cx: x PIN tries left
)
