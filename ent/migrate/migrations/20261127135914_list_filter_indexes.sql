-- Create index "auditevent_domain_id" to table: "audit_events"
CREATE INDEX "auditevent_domain_id" ON "audit_events" ("domain_id");
-- Create index "auditevent_site_id" to table: "audit_events"
CREATE INDEX "auditevent_site_id" ON "audit_events" ("site_id");
-- Create index "callrecord_domain_id" to table: "call_records"
CREATE INDEX "callrecord_domain_id" ON "call_records" ("domain_id");
-- Create index "callrecord_queue_id" to table: "call_records"
CREATE INDEX "callrecord_queue_id" ON "call_records" ("queue_id");
-- Create index "callrecord_user_id" to table: "call_records"
CREATE INDEX "callrecord_user_id" ON "call_records" ("user_id");
-- Create index "recording_domain_id" to table: "recordings"
CREATE INDEX "recording_domain_id" ON "recordings" ("domain_id");
-- Create index "recording_group_id" to table: "recordings"
CREATE INDEX "recording_group_id" ON "recordings" ("group_id");
-- Create index "recording_owner_id" to table: "recordings"
CREATE INDEX "recording_owner_id" ON "recordings" ("owner_id");
-- Create index "recording_queue_id" to table: "recordings"
CREATE INDEX "recording_queue_id" ON "recordings" ("queue_id");
-- Create index "user_domain_id" to table: "users"
CREATE INDEX "user_domain_id" ON "users" ("domain_id");
-- Create index "user_site_id" to table: "users"
CREATE INDEX "user_site_id" ON "users" ("site_id");
