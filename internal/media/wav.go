package media

import (
	"bytes"
	"encoding/binary"
	"math"
)

// Tone returns a small, real WAV file: a sine tone of hz for the given
// seconds, 8 kHz mono 16-bit PCM. The demo recordings use it.
func Tone(hz float64, seconds float64) []byte {
	const rate = 8000
	n := int(rate * seconds)
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1)) // PCM
	w(uint16(1)) // mono
	w(uint32(rate))
	w(uint32(2 * rate))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := range n {
		w(int16(8000 * math.Sin(2*math.Pi*hz*float64(i)/rate)))
	}
	return b.Bytes()
}
