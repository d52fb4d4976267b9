package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/pbxportal/pbxportal/internal/auth"
	"github.com/pbxportal/pbxportal/internal/scope"
)

// User is a person or a system user of a domain (docs/product.md §1). Everything but the
// directory fields (displayName, extension, department, site) is private
// (docs/product.md §3.3) and carries @authz(permission: "view_private").
type User struct{ ent.Schema }

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.Int("domain_id").Immutable(),
		field.Int("site_id").Optional(),
		field.String("username").MaxLen(maxName).NotEmpty().Unique().
			Annotations(private()),
		field.String("display_name").MaxLen(maxName).NotEmpty().
			Annotations(entgql.OrderField("DISPLAY_NAME")),
		field.String("extension").MaxLen(maxNumber).NotEmpty().
			Annotations(entgql.OrderField("EXTENSION")),
		field.String("email").MaxLen(maxEmail).Optional().Nillable().
			Comment("Changed through changeEmail or updateMyProfile, which follow the credentials rule.").
			Annotations(private(), entgql.Skip(entgql.SkipWhereInput|entgql.SkipMutationUpdateInput)),
		field.String("department").MaxLen(maxName).Default(""),
		field.Enum("scope").Values(scope.Ordered()...).Default("BASIC_USER").
			Annotations(private(), readOnly()),
		field.Enum("service_type").Values("BCC", "CLOUD_PBX").Default("BCC").
			Annotations(private()),
		field.Enum("feature_plan").Values("STANDARD", "ADVANCED", "PROFESSIONAL").Default("STANDARD").
			Annotations(private()),
		field.Bool("voice_portal_access").Default(false).
			Comment("Same switch as the self-administration enableUserPortal.").
			Annotations(private()),
		field.String("end_user_role").MaxLen(maxName).Optional().Nillable().Annotations(private()),
		field.String("password_hash").MaxLen(maxInternal).Sensitive().Annotations(entgql.Skip()),
		field.String("voicemail_pin_hash").MaxLen(maxInternal).Optional().Sensitive().Annotations(entgql.Skip()),
		field.Int64("credential_stamp").DefaultFunc(auth.NewStamp).
			Comment("Carried in every token and media URL; a new random value ends them all (internal/session). "+
				"Rows that predate it read 0, which no token carries.").
			Annotations(entgql.Skip(), entsql.Default("0")),

		// Self-administration menus (docs/product.md §3.9).
		menuAccess("profile_access", "WRITE"),
		menuAccess("call_handling_access", "WRITE"),
		menuAccess("personal_directory_access", "WRITE"),
		menuAccess("button_programming_access", "READ"),
		menuAccess("download_applications_access", "READ"),
		field.Bool("run_end_user_wizard").Default(false).Annotations(private()),
		field.Enum("allowed_call_operations").Values("NONE", "DESK_PHONE", "SOFTPHONE", "BOTH").Default("BOTH").
			Annotations(private()),

		// Call handling (the callHandling menu).
		field.String("forward_to").MaxLen(maxNumber).Optional().Nillable().Annotations(callHandling()),
		field.Bool("do_not_disturb").Default(false).Annotations(callHandling()),
		field.String("twinning_number").MaxLen(maxNumber).Optional().Nillable().Annotations(callHandling()),

		// Call reporting (docs/product.md §3.12).
		field.Bool("historical_call_reporting").Default(false).Annotations(private(), readOnly()),

		// Media Manager rights (docs/product.md §3.11).
		field.Bool("media_manager_replay").Default(false).Annotations(private(), readOnly()),
		field.Bool("replay_all").Default(false).Annotations(private(), readOnly()),
		field.Bool("replay_own").Default(false).Annotations(private(), readOnly()),
		field.String("replay_others").Default("").MaxLen(127).
			Comment("Semicolon-separated numbers: account codes, lines, user and group extensions.").
			Annotations(private(), readOnly()),
		field.Bool("download_recordings").Default(false).Annotations(private(), readOnly()),
	}
}

// callHandling guards a field of the callHandling menu (docs/product.md §3.9).
func callHandling() entgql.Annotation { return guarded(PermReadCallHandling) }

// menuAccess is a self-administration menu setting: NO_ACCESS, READ or WRITE.
func menuAccess(name, def string) ent.Field {
	return field.Enum(name).Values("NO_ACCESS", "READ", "WRITE").Default(def).
		Annotations(private(), readOnly())
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("domain", Domain.Type).Field("domain_id").Unique().Required().Immutable(),
		edge.To("site", Site.Type).Field("site_id").Unique(),
		edge.To("replay_groups", Group.Type).
			Annotations(private(), readOnly()),
		edge.From("groups", Group.Type).Ref("members").
			Annotations(private(), readOnly()),
		edge.From("supervised_queues", CallQueue.Type).Ref("supervisors").
			Annotations(private(), readOnly()),
		edge.From("agent_memberships", QueueAgent.Type).Ref("user").
			Annotations(private(), readOnly()),
		edge.From("recordings", Recording.Type).Ref("owner").
			Annotations(private(), readOnly(), entgql.RelayConnection()),
		edge.From("call_records", CallRecord.Type).Ref("user").
			Annotations(guarded(PermViewCallHistory), readOnly(), entgql.RelayConnection()),
		edge.From("personal_directory_entries", PersonalDirectoryEntry.Type).Ref("owner").
			Annotations(guarded(PermReadPersonalDirectory), readOnly()),
		edge.From("buttons", Button.Type).Ref("owner").
			Annotations(guarded(PermReadButtonProgramming), readOnly()),
	}
}

// Annotations of the User.
func (User) Annotations() []schema.Annotation { return listable() }

// Indexes of the User: the columns a list's filter selects by (the domain,
// and the site a manager reaches, with the id after it: see Recording's).
func (User) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("domain_id"),
		index.Fields("site_id", "id"),
	}
}
