-- Drop index "call_queues_by_site_id" from table: "call_queues"
DROP INDEX "call_queues_by_site_id";
-- Create index "call_queues_by_site_id" to table: "call_queues"
CREATE INDEX "call_queues_by_site_id" ON "call_queues" ("site_id", "id");
-- Drop index "callrecord_queue_id" from table: "call_records"
DROP INDEX "callrecord_queue_id";
-- Drop index "callrecord_user_id" from table: "call_records"
DROP INDEX "callrecord_user_id";
-- Create index "callrecord_queue_id_id" to table: "call_records"
CREATE INDEX "callrecord_queue_id_id" ON "call_records" ("queue_id", "id");
-- Create index "callrecord_user_id_id" to table: "call_records"
CREATE INDEX "callrecord_user_id_id" ON "call_records" ("user_id", "id");
-- Drop index "groups_by_site_id" from table: "groups"
DROP INDEX "groups_by_site_id";
-- Create index "groups_by_site_id" to table: "groups"
CREATE INDEX "groups_by_site_id" ON "groups" ("site_id", "id");
-- Drop index "personal_directory_entries_by_owner_id" from table: "personal_directory_entries"
DROP INDEX "personal_directory_entries_by_owner_id";
-- Create index "personal_directory_entries_by_owner_id" to table: "personal_directory_entries"
CREATE INDEX "personal_directory_entries_by_owner_id" ON "personal_directory_entries" ("owner_id", "id");
-- Drop index "queue_agents_by_user_id" from table: "queue_agents"
DROP INDEX "queue_agents_by_user_id";
-- Create index "queue_agents_by_user_id" to table: "queue_agents"
CREATE INDEX "queue_agents_by_user_id" ON "queue_agents" ("user_id", "id");
-- Drop index "recording_group_id" from table: "recordings"
DROP INDEX "recording_group_id";
-- Drop index "recording_owner_id" from table: "recordings"
DROP INDEX "recording_owner_id";
-- Drop index "recording_queue_id" from table: "recordings"
DROP INDEX "recording_queue_id";
-- Create index "recording_group_id_id" to table: "recordings"
CREATE INDEX "recording_group_id_id" ON "recordings" ("group_id", "id");
-- Create index "recording_owner_id_id" to table: "recordings"
CREATE INDEX "recording_owner_id_id" ON "recordings" ("owner_id", "id");
-- Create index "recording_queue_id_id" to table: "recordings"
CREATE INDEX "recording_queue_id_id" ON "recordings" ("queue_id", "id");
-- Drop index "user_site_id" from table: "users"
DROP INDEX "user_site_id";
-- Create index "user_site_id_id" to table: "users"
CREATE INDEX "user_site_id_id" ON "users" ("site_id", "id");
