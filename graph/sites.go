package graph

import (
	"context"

	"github.com/pbxportal/pbxportal/ent"
	"github.com/pbxportal/pbxportal/ent/site"
	"github.com/pbxportal/pbxportal/ent/user"
	"github.com/pbxportal/pbxportal/graph/model"
)

// A site's defaults are stored with the site's own enum types and shown with
// the user's (they are the same values), so that a client sets a default
// exactly as it sets the user's field.

// enumAs converts an optional enum value to another enum type of the same values.
func enumAs[U, T ~string](p *T) *U {
	if p == nil {
		return nil
	}
	u := U(*p)
	return &u
}

// siteDefaults is the GraphQL view of a site's defaults.
func siteDefaults(s *ent.Site) *model.SiteDefaults {
	return &model.SiteDefaults{
		ServiceType:                user.ServiceType(s.ServiceType),
		FeaturePlan:                user.FeaturePlan(s.FeaturePlan),
		VoicePortalAccess:          s.VoicePortalAccess,
		ProfileAccess:              user.ProfileAccess(s.ProfileAccess),
		CallHandlingAccess:         user.CallHandlingAccess(s.CallHandlingAccess),
		PersonalDirectoryAccess:    user.PersonalDirectoryAccess(s.PersonalDirectoryAccess),
		ButtonProgrammingAccess:    user.ButtonProgrammingAccess(s.ButtonProgrammingAccess),
		DownloadApplicationsAccess: user.DownloadApplicationsAccess(s.DownloadApplicationsAccess),
	}
}

// setSiteDefaults applies a change of a site's defaults.
func setSiteDefaults(u *ent.SiteUpdateOne, in model.SiteDefaultsInput) *ent.SiteUpdateOne {
	return u.SetNillableServiceType(enumAs[site.ServiceType](in.ServiceType)).
		SetNillableFeaturePlan(enumAs[site.FeaturePlan](in.FeaturePlan)).
		SetNillableVoicePortalAccess(in.VoicePortalAccess).
		SetNillableProfileAccess(enumAs[site.ProfileAccess](in.ProfileAccess)).
		SetNillableCallHandlingAccess(enumAs[site.CallHandlingAccess](in.CallHandlingAccess)).
		SetNillablePersonalDirectoryAccess(enumAs[site.PersonalDirectoryAccess](in.PersonalDirectoryAccess)).
		SetNillableButtonProgrammingAccess(enumAs[site.ButtonProgrammingAccess](in.ButtonProgrammingAccess)).
		SetNillableDownloadApplicationsAccess(enumAs[site.DownloadApplicationsAccess](in.DownloadApplicationsAccess))
}

// withSiteDefaults gives a user being created on a site the site's defaults
// (docs/product.md §3.7): the service type, feature plan and Voice Portal
// Access its input leaves out, and the menu levels (which createUser does
// not take). Voice Portal Access is taken only when the default is on: off
// is the user's own default, and leaving it unset lets the rules turn it on
// where the plan requires it.
func withSiteDefaults(ctx context.Context, c *ent.UserCreate, input ent.CreateUserInput) error {
	if input.SiteID == nil {
		return nil
	}
	s, err := tx(ctx).Site.Get(ctx, *input.SiteID)
	if err != nil {
		return err
	}
	d := siteDefaults(s)
	if input.ServiceType == nil {
		c.SetServiceType(d.ServiceType)
	}
	if input.FeaturePlan == nil {
		c.SetFeaturePlan(d.FeaturePlan)
	}
	if input.VoicePortalAccess == nil && d.VoicePortalAccess {
		c.SetVoicePortalAccess(true)
	}
	c.SetProfileAccess(d.ProfileAccess).SetCallHandlingAccess(d.CallHandlingAccess).
		SetPersonalDirectoryAccess(d.PersonalDirectoryAccess).SetButtonProgrammingAccess(d.ButtonProgrammingAccess).
		SetDownloadApplicationsAccess(d.DownloadApplicationsAccess)
	return nil
}
