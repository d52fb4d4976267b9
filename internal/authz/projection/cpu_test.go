package projection_test

import (
	"database/sql"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// backendCPU measures the CPU time of the PostgreSQL backends serving one
// database, where the server runs on this machine (their /proc/<pid>/stat
// is readable): the work SpiceDB's PostgreSQL datastore costs the server.
type backendCPU struct {
	admin *sql.DB
	name  string
}

// newBackendCPU measures the backends of the database of dbURL through a
// connection to it.
func newBackendCPU(b *testing.B, dbURL string) backendCPU {
	b.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		b.Fatal(err)
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = admin.Close() })
	return backendCPU{admin: admin, name: strings.TrimPrefix(u.Path, "/")}
}

// byPID is the CPU time each backend of the database has used so far; none
// where /proc does not tell.
func (m backendCPU) byPID(b *testing.B) map[int]time.Duration {
	b.Helper()
	rows, err := m.admin.Query("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", m.name)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	cpu := map[int]time.Duration{}
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			b.Fatal(err)
		}
		if d, ok := pidCPU(pid); ok {
			cpu[pid] = d
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return cpu
}

// since is the CPU time the backends have used since before, a byPID.
func (m backendCPU) since(b *testing.B, before map[int]time.Duration) time.Duration {
	b.Helper()
	var sum time.Duration
	for pid, d := range m.byPID(b) {
		sum += d - before[pid]
	}
	return sum
}

// pidCPU is the user and system CPU time of process pid, from
// /proc/<pid>/stat in clock ticks of 1/100 s (Linux's USER_HZ).
func pidCPU(pid int) (time.Duration, bool) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which is in parentheses: utime
	// and stime are the 12th and 13th of them.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return 0, false
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}
