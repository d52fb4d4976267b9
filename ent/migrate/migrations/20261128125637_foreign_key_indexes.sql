-- Create index "call_queue_supervisors_by_user_id" to table: "call_queue_supervisors"
CREATE INDEX "call_queue_supervisors_by_user_id" ON "call_queue_supervisors" ("user_id");
-- Create index "call_queues_by_domain_id" to table: "call_queues"
CREATE INDEX "call_queues_by_domain_id" ON "call_queues" ("domain_id");
-- Create index "call_queues_by_site_id" to table: "call_queues"
CREATE INDEX "call_queues_by_site_id" ON "call_queues" ("site_id");
-- Create index "contacts_by_domain_id" to table: "contacts"
CREATE INDEX "contacts_by_domain_id" ON "contacts" ("domain_id");
-- Create index "group_members_by_user_id" to table: "group_members"
CREATE INDEX "group_members_by_user_id" ON "group_members" ("user_id");
-- Create index "groups_by_domain_id" to table: "groups"
CREATE INDEX "groups_by_domain_id" ON "groups" ("domain_id");
-- Create index "groups_by_site_id" to table: "groups"
CREATE INDEX "groups_by_site_id" ON "groups" ("site_id");
-- Create index "personal_directory_entries_by_owner_id" to table: "personal_directory_entries"
CREATE INDEX "personal_directory_entries_by_owner_id" ON "personal_directory_entries" ("owner_id");
-- Create index "queue_agents_by_user_id" to table: "queue_agents"
CREATE INDEX "queue_agents_by_user_id" ON "queue_agents" ("user_id");
-- Create index "sites_by_domain_id" to table: "sites"
CREATE INDEX "sites_by_domain_id" ON "sites" ("domain_id");
-- Create index "user_replay_groups_by_group_id" to table: "user_replay_groups"
CREATE INDEX "user_replay_groups_by_group_id" ON "user_replay_groups" ("group_id");
