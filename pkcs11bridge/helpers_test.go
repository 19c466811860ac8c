package pkcs11bridge

import "encoding/binary"

func nativeSet(b []byte, v uint64) {
	switch len(b) {
	case 8:
		binary.NativeEndian.PutUint64(b, v)
	case 4:
		binary.NativeEndian.PutUint32(b, uint32(v))
	}
}
