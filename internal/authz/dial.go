package authz

import (
	"fmt"

	"github.com/authzed/grpcutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// Dial connects to a remote SpiceDB with a preshared key: over TLS with the
// system's certificates, or in plain text when insecure.
func Dial(endpoint, token string, insecureConn bool) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{}
	if insecureConn {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()), grpcutil.WithInsecureBearerToken(token))
	} else {
		certs, err := grpcutil.WithSystemCerts(grpcutil.VerifyCA)
		if err != nil {
			return nil, fmt.Errorf("authz: system certificates: %w", err)
		}
		opts = append(opts, certs, grpcutil.WithBearerToken(token))
	}
	conn, err := grpc.NewClient(endpoint, opts...)
	if err != nil {
		return nil, fmt.Errorf("authz: dial %s: %w", endpoint, err)
	}
	return conn, nil
}
