package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/config"
	"github.com/vigil-sec/vigil/internal/confwatch"
	"github.com/vigil-sec/vigil/internal/rule"
)

// reloader reloads the rules and the policy files of a running agent: on
// SIGHUP always, and when their files change (confwatch: a ConfigMap
// volume's ..data swap included) only if what they hold changed. A set
// with errors is rejected, each error logged with its file and line and
// counted in vigil_config_reloads_total{result="rejected"}; the running
// set stays. A rejected set is not tried again until its files change
// again (or SIGHUP).
type reloader struct {
	a        *agent.Agent
	rf       ruleFlags
	policies []string // --policy files and directories; none: policies are not reloaded
	log      *slog.Logger

	mu                  sync.Mutex
	rulesFP, policiesFP string // what was last tried
}

// newReloader notes what the rules and policy files hold now. Call it
// before the agent reads them, so that a change made in between is seen
// as one (and reloaded) rather than missed.
func newReloader(rf ruleFlags, policies []string, log *slog.Logger) *reloader {
	r := &reloader{rf: rf, policies: policies, log: log}
	if srcs, err := rf.sources(); err == nil {
		r.rulesFP = rulesFingerprint(srcs)
	}
	if files, err := config.ReadPolicyPaths(policies); err == nil {
		r.policiesFP = policiesFingerprint(files)
	}
	return r
}

func rulesFingerprint(srcs []rule.Source) string {
	names, data := make([]string, len(srcs)), make([][]byte, len(srcs))
	for i, s := range srcs {
		names[i], data[i] = s.Name, s.Data
	}
	return confwatch.Fingerprint(names, data)
}

func policiesFingerprint(files []config.PolicyFile) string {
	names, data := make([]string, len(files)), make([][]byte, len(files))
	for i, f := range files {
		names[i], data[i] = f.Name, f.Data
	}
	return confwatch.Fingerprint(names, data)
}

// reload reloads what changed; force (SIGHUP) reloads all.
func (r *reloader) reload(force bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reloadRules(force)
	if len(r.policies) > 0 {
		r.reloadPolicies(force)
	}
}

func (r *reloader) reloadRules(force bool) {
	srcs, err := r.rf.sources()
	if err != nil {
		// a file gone between listing and reading: tried again at the
		// next change or poll
		r.reject(agent.ReloadRules, "rules", err)
		return
	}
	fp := rulesFingerprint(srcs)
	if !force && fp == r.rulesFP {
		return
	}
	r.rulesFP = fp
	eng, err := r.rf.engineFrom(srcs)
	if err != nil {
		var errs rule.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				r.log.Error("rule error", "error", e.Error())
			}
		}
		r.reject(agent.ReloadRules, "rules", err)
		return
	}
	n := 0
	if eng != nil {
		logWarnings(r.log, eng.Ruleset())
		n = len(eng.Ruleset().Rules())
	}
	r.a.SetRules(eng)
	r.a.CountReload(agent.ReloadRules, nil)
	r.log.Info("rules reloaded", "rules", n)
}

func (r *reloader) reloadPolicies(force bool) {
	files, err := config.ReadPolicyPaths(r.policies)
	if err != nil {
		r.reject(agent.ReloadPolicies, "policies", err)
		return
	}
	fp := policiesFingerprint(files)
	if !force && fp == r.policiesFP {
		return
	}
	r.policiesFP = fp
	ps, err := config.ParsePolicyFiles(files)
	if err == nil {
		err = r.a.SetFilePolicies(ps)
	}
	if err != nil {
		r.reject(agent.ReloadPolicies, "policies", err)
		return
	}
	r.a.CountReload(agent.ReloadPolicies, nil)
	r.log.Info("policies reloaded", "policies", len(ps), "files", len(files))
}

func (r *reloader) reject(what, noun string, err error) {
	r.a.CountReload(what, err)
	r.log.Error(noun+" not reloaded: the previous "+noun+" stay active", "err", firstLine(err))
}

// watchPaths are the files and directories whose changes reload.
func (r *reloader) watchPaths() []string {
	return append(append([]string(nil), r.rf.paths...), r.policies...)
}

// run reloads on every SIGHUP on hup (one that came before run is acted
// on at once) and, with watch, when the watched files change, until the
// returned function is called.
func (r *reloader) run(ctx context.Context, a *agent.Agent, hup <-chan os.Signal, watch bool) (stop func()) {
	r.a = a
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				r.reload(true)
			}
		}
	})
	if paths := r.watchPaths(); watch && len(paths) > 0 {
		w, err := confwatch.New(paths)
		if err != nil {
			r.log.Warn("rule and policy files are not watched: reload them with SIGHUP", "err", err)
		} else {
			r.log.Info("watching rule and policy files", "dirs", w.Dirs(), "debounce", w.Debounce, "poll", w.Poll)
			wg.Go(func() { w.Run(ctx, func() { r.reload(false) }) })
		}
	}
	return func() {
		cancel()
		wg.Wait()
	}
}
