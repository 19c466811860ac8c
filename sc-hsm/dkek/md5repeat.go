package dkek

import (
	"encoding/binary"
	"math/bits"
)

// This file hashes the 16-byte digests of the EVP_BytesToKey loop faster
// than crypto/md5, which spends part of each call on its buffer, padding
// and byte order. A 16-byte message fits one MD5 block whose last twelve
// words are fixed (0x80 padding, zeros, bit length 128). Those words are
// added into the step constants here, and the state stays in four uint32
// variables from one iteration to the next. The digest bytes are the
// little-endian state words, and the next message words are the
// little-endian reading of those bytes, so no conversion is needed between
// iterations. Tests check this code against crypto/md5.

// md5Init is the MD5 initial state (RFC 1321, section 3.3).
//
// It and md5StepConstants are variables on purpose. With constants, the Go
// compiler (1.26) moves every constant addend to the outermost addition,
// which puts an extra addition on the critical path of each step and makes
// the loop about 10% slower than crypto/md5.
var md5Init = [4]uint32{0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476}

// md5StepConstants holds the 64 MD5 step constants T[i] (RFC 1321,
// section 3.4) plus the fixed message word of each step: 0x80 for word 4,
// 128 (the bit length) for word 14 and zero for words 5 to 13 and 15. The
// steps that read words 0 to 3 add the digest word themselves.
var md5StepConstants = [64]uint32{
	0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee,
	0xf57c102f, 0x4787c62a, 0xa8304613, 0xfd469501,
	0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
	0x6b901122, 0xfd987193, 0xa679440e, 0x49b40821,
	0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa,
	0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fc48,
	0x21e1cde6, 0xc3370856, 0xf4d50d87, 0x455a14ed,
	0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
	0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5388c,
	0xa4beea44, 0x4bded029, 0xf6bb4b60, 0xbebfbc70,
	0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05,
	0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
	0xf4292244, 0x432aff97, 0xab942427, 0xfc93a039,
	0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
	0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
	0xf7537f02, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
}

// md5Words is an MD5 digest as the four little-endian state words.
type md5Words [4]uint32

func wordsFromDigest(digest [16]byte) md5Words {
	return md5Words{
		binary.LittleEndian.Uint32(digest[0:]),
		binary.LittleEndian.Uint32(digest[4:]),
		binary.LittleEndian.Uint32(digest[8:]),
		binary.LittleEndian.Uint32(digest[12:]),
	}
}

func (w md5Words) digest() [16]byte {
	var digest [16]byte
	binary.LittleEndian.PutUint32(digest[0:], w[0])
	binary.LittleEndian.PutUint32(digest[4:], w[1])
	binary.LittleEndian.PutUint32(digest[8:], w[2])
	binary.LittleEndian.PutUint32(digest[12:], w[3])
	return digest
}

// md5Repeat replaces w by MD5(w) n times, where w is read as a 16-byte
// message. It equals n calls of md5.Sum on the digest bytes. n <= 0 returns
// w unchanged.
func md5Repeat(w md5Words, n int) md5Words {
	x0, x1, x2, x3 := w[0], w[1], w[2], w[3]
	for ; n > 0; n-- {
		a, b, c, d := md5Init[0], md5Init[1], md5Init[2], md5Init[3]

		// Round 1, message words in order.
		a = b + bits.RotateLeft32(a+x0+md5StepConstants[0]+((c^d)&b^d), 7)
		d = a + bits.RotateLeft32(d+x1+md5StepConstants[1]+((b^c)&a^c), 12)
		c = d + bits.RotateLeft32(c+x2+md5StepConstants[2]+((a^b)&d^b), 17)
		b = c + bits.RotateLeft32(b+x3+md5StepConstants[3]+((d^a)&c^a), 22)
		a = b + bits.RotateLeft32(a+md5StepConstants[4]+((c^d)&b^d), 7)
		d = a + bits.RotateLeft32(d+md5StepConstants[5]+((b^c)&a^c), 12)
		c = d + bits.RotateLeft32(c+md5StepConstants[6]+((a^b)&d^b), 17)
		b = c + bits.RotateLeft32(b+md5StepConstants[7]+((d^a)&c^a), 22)
		a = b + bits.RotateLeft32(a+md5StepConstants[8]+((c^d)&b^d), 7)
		d = a + bits.RotateLeft32(d+md5StepConstants[9]+((b^c)&a^c), 12)
		c = d + bits.RotateLeft32(c+md5StepConstants[10]+((a^b)&d^b), 17)
		b = c + bits.RotateLeft32(b+md5StepConstants[11]+((d^a)&c^a), 22)
		a = b + bits.RotateLeft32(a+md5StepConstants[12]+((c^d)&b^d), 7)
		d = a + bits.RotateLeft32(d+md5StepConstants[13]+((b^c)&a^c), 12)
		c = d + bits.RotateLeft32(c+md5StepConstants[14]+((a^b)&d^b), 17)
		b = c + bits.RotateLeft32(b+md5StepConstants[15]+((d^a)&c^a), 22)

		// Round 2, message words 5i+1 mod 16.
		a = b + bits.RotateLeft32(a+x1+md5StepConstants[16]+(c&^d)+(b&d), 5)
		d = a + bits.RotateLeft32(d+md5StepConstants[17]+(b&^c)+(a&c), 9)
		c = d + bits.RotateLeft32(c+md5StepConstants[18]+(a&^b)+(d&b), 14)
		b = c + bits.RotateLeft32(b+x0+md5StepConstants[19]+(d&^a)+(c&a), 20)
		a = b + bits.RotateLeft32(a+md5StepConstants[20]+(c&^d)+(b&d), 5)
		d = a + bits.RotateLeft32(d+md5StepConstants[21]+(b&^c)+(a&c), 9)
		c = d + bits.RotateLeft32(c+md5StepConstants[22]+(a&^b)+(d&b), 14)
		b = c + bits.RotateLeft32(b+md5StepConstants[23]+(d&^a)+(c&a), 20)
		a = b + bits.RotateLeft32(a+md5StepConstants[24]+(c&^d)+(b&d), 5)
		d = a + bits.RotateLeft32(d+md5StepConstants[25]+(b&^c)+(a&c), 9)
		c = d + bits.RotateLeft32(c+x3+md5StepConstants[26]+(a&^b)+(d&b), 14)
		b = c + bits.RotateLeft32(b+md5StepConstants[27]+(d&^a)+(c&a), 20)
		a = b + bits.RotateLeft32(a+md5StepConstants[28]+(c&^d)+(b&d), 5)
		d = a + bits.RotateLeft32(d+x2+md5StepConstants[29]+(b&^c)+(a&c), 9)
		c = d + bits.RotateLeft32(c+md5StepConstants[30]+(a&^b)+(d&b), 14)
		b = c + bits.RotateLeft32(b+md5StepConstants[31]+(d&^a)+(c&a), 20)

		// Round 3, message words 3i+5 mod 16.
		a = b + bits.RotateLeft32(a+md5StepConstants[32]+(c^d^b), 4)
		d = a + bits.RotateLeft32(d+md5StepConstants[33]+(b^c^a), 11)
		c = d + bits.RotateLeft32(c+md5StepConstants[34]+(a^b^d), 16)
		b = c + bits.RotateLeft32(b+md5StepConstants[35]+(d^a^c), 23)
		a = b + bits.RotateLeft32(a+x1+md5StepConstants[36]+(c^d^b), 4)
		d = a + bits.RotateLeft32(d+md5StepConstants[37]+(b^c^a), 11)
		c = d + bits.RotateLeft32(c+md5StepConstants[38]+(a^b^d), 16)
		b = c + bits.RotateLeft32(b+md5StepConstants[39]+(d^a^c), 23)
		a = b + bits.RotateLeft32(a+md5StepConstants[40]+(c^d^b), 4)
		d = a + bits.RotateLeft32(d+x0+md5StepConstants[41]+(b^c^a), 11)
		c = d + bits.RotateLeft32(c+x3+md5StepConstants[42]+(a^b^d), 16)
		b = c + bits.RotateLeft32(b+md5StepConstants[43]+(d^a^c), 23)
		a = b + bits.RotateLeft32(a+md5StepConstants[44]+(c^d^b), 4)
		d = a + bits.RotateLeft32(d+md5StepConstants[45]+(b^c^a), 11)
		c = d + bits.RotateLeft32(c+md5StepConstants[46]+(a^b^d), 16)
		b = c + bits.RotateLeft32(b+x2+md5StepConstants[47]+(d^a^c), 23)

		// Round 4, message words 7i mod 16.
		a = b + bits.RotateLeft32(a+x0+md5StepConstants[48]+(c^(b|^d)), 6)
		d = a + bits.RotateLeft32(d+md5StepConstants[49]+(b^(a|^c)), 10)
		c = d + bits.RotateLeft32(c+md5StepConstants[50]+(a^(d|^b)), 15)
		b = c + bits.RotateLeft32(b+md5StepConstants[51]+(d^(c|^a)), 21)
		a = b + bits.RotateLeft32(a+md5StepConstants[52]+(c^(b|^d)), 6)
		d = a + bits.RotateLeft32(d+x3+md5StepConstants[53]+(b^(a|^c)), 10)
		c = d + bits.RotateLeft32(c+md5StepConstants[54]+(a^(d|^b)), 15)
		b = c + bits.RotateLeft32(b+x1+md5StepConstants[55]+(d^(c|^a)), 21)
		a = b + bits.RotateLeft32(a+md5StepConstants[56]+(c^(b|^d)), 6)
		d = a + bits.RotateLeft32(d+md5StepConstants[57]+(b^(a|^c)), 10)
		c = d + bits.RotateLeft32(c+md5StepConstants[58]+(a^(d|^b)), 15)
		b = c + bits.RotateLeft32(b+md5StepConstants[59]+(d^(c|^a)), 21)
		a = b + bits.RotateLeft32(a+md5StepConstants[60]+(c^(b|^d)), 6)
		d = a + bits.RotateLeft32(d+md5StepConstants[61]+(b^(a|^c)), 10)
		c = d + bits.RotateLeft32(c+x2+md5StepConstants[62]+(a^(d|^b)), 15)
		b = c + bits.RotateLeft32(b+md5StepConstants[63]+(d^(c|^a)), 21)

		x0 = a + md5Init[0]
		x1 = b + md5Init[1]
		x2 = c + md5Init[2]
		x3 = d + md5Init[3]
	}
	return md5Words{x0, x1, x2, x3}
}
