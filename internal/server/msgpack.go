package server

// msgpackWithin reports whether b is one msgpack value (trailing bytes
// aside) none of whose headers claims more items or bytes than b has left.
func msgpackWithin(b []byte) bool {
	pending := 1 // values still to read
	for pending > 0 {
		if len(b) == 0 {
			return false
		}
		pending--
		code := b[0]
		b = b[1:]
		items, size := 0, 0 // items that follow; bytes of this value that follow
		switch {
		case code <= 0x7f || code >= 0xe0 || code == 0xc0 || code == 0xc2 || code == 0xc3:
		case code >= 0x80 && code <= 0x8f:
			items = 2 * int(code&0x0f)
		case code >= 0x90 && code <= 0x9f:
			items = int(code & 0x0f)
		case code >= 0xa0 && code <= 0xbf:
			size = int(code & 0x1f)
		case code == 0xca:
			size = 4
		case code == 0xcb:
			size = 8
		case code >= 0xcc && code <= 0xcf:
			size = 1 << (code - 0xcc)
		case code >= 0xd0 && code <= 0xd3:
			size = 1 << (code - 0xd0)
		case code >= 0xd4 && code <= 0xd8:
			size = 1 + 1<<(code-0xd4) // type, then 1 to 16 bytes
		default:
			n, width, ok := msgpackLength(code, b)
			if !ok {
				return false
			}
			b = b[width:]
			switch code {
			case 0xdc, 0xdd:
				items = n
			case 0xde, 0xdf:
				items = 2 * n
			case 0xc7, 0xc8, 0xc9:
				size = n + 1 // the type byte
			default:
				size = n
			}
		}
		if size > len(b) {
			return false
		}
		b = b[size:]
		pending += items // each takes a byte at least
		if pending > len(b) {
			return false
		}
	}
	return true
}

// msgpackLength reads the length that follows a str, bin, ext, array or map
// header code: its value and how many bytes it takes; ok is false for a
// code that has none (0xc1, never used) and for a length cut short.
func msgpackLength(code byte, b []byte) (n, width int, ok bool) {
	switch code {
	case 0xc4, 0xc7, 0xd9:
		width = 1
	case 0xc5, 0xc8, 0xda, 0xdc, 0xde:
		width = 2
	case 0xc6, 0xc9, 0xdb, 0xdd, 0xdf:
		width = 4
	default:
		return 0, 0, false
	}
	if width > len(b) {
		return 0, 0, false
	}
	for _, x := range b[:width] {
		n = n<<8 | int(x)
	}
	return n, width, true
}
