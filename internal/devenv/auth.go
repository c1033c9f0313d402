package devenv

// RegisterDemoClient prepares authentication between the gateway and the simulator and
// returns the gateway settings for it. With the simulator's auth off, the gateway sends no
// credentials.
func RegisterDemoClient(env *Env, dir string) (map[string]string, error) {
	if env.Sim.Issuer() == nil {
		return map[string]string{"JFT_AUTH_MODE": "none"}, nil
	}
	return registerHelseIDClient(env, dir)
}
