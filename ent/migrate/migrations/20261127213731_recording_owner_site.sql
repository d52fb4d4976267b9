-- Modify "recordings" table
ALTER TABLE "recordings" ADD COLUMN "owner_site_id" bigint NULL, ADD CONSTRAINT "recordings_sites_owner_site" FOREIGN KEY ("owner_site_id") REFERENCES "sites" ("id") ON UPDATE NO ACTION ON DELETE SET NULL;
-- Create index "recording_owner_site_id_id" to table: "recordings"
CREATE INDEX "recording_owner_site_id_id" ON "recordings" ("owner_site_id", "id");
-- Create index "recording_owner_site_missing" to table: "recordings"
CREATE INDEX "recording_owner_site_missing" ON "recordings" ("owner_id") WHERE ((owner_id IS NOT NULL) AND (owner_site_id IS NULL));
