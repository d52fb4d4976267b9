package migration_test

import (
	"testing"

	"github.com/pbxportal/pbxportal/internal/migration"
)

// TestContainerColumnsAreIndexedWithTheID: on every table of entities (an
// "id" primary key), every foreign-key column but the domain's leads an
// index whose next column is the id, or a unique index (which orders one
// container's rows by its own key), so that a page of one container's rows
// in id order (a supervisor's queue's recordings, a site's users) is one
// range of an index. With the column alone, PostgreSQL may walk the primary
// key past every other container's rows instead (13,000 rows for a page of
// 21 at 100,000 recordings). The domain's column is left out: a domain-wide
// viewer's rows are most of the table, which the primary key serves.
func TestContainerColumnsAreIndexedWithTheID(t *testing.T) {
	checked := 0
	for _, table := range migration.Tables() {
		if len(table.PrimaryKey) != 1 || table.PrimaryKey[0].Name != "id" {
			continue
		}
		for _, fk := range table.ForeignKeys {
			c := fk.Columns[0]
			if c.Name == "domain_id" {
				continue
			}
			checked++
			found := false
			for _, ix := range table.Indexes {
				whole := ix.Annotation == nil || ix.Annotation.Where == "" // not a partial index
				if whole && len(ix.Columns) >= 2 && ix.Columns[0] == c && (ix.Columns[1].Name == "id" || ix.Unique) {
					found = true
				}
			}
			if !found {
				t.Errorf("%s.%s leads no index (%s, id)", table.Name, c.Name, c.Name)
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d foreign-key columns checked: is the walk right?", checked)
	}
}
