package images

import (
	"context"
	"fmt"

	"github.com/backlab/backlab/internal/lab"
	"github.com/backlab/backlab/runner"
)

// Lab returns the images of l, building the missing ones when build is
// true; otherwise a missing image is an error wrapping [runner.ErrImageMissing].
func (b *Builder) Lab(ctx context.Context, l *lab.Lab, build bool) (runner.ImageSet, error) {
	set := runner.ImageSet{Services: map[string]string{}}
	var baseID string
	if build {
		id, err := b.EnsureBase(ctx)
		if err != nil {
			return set, err
		}
		baseID = id
	} else {
		id, err := b.imageID(ctx, BaseRef)
		if err != nil {
			return set, fmt.Errorf("%w: %s (run 'backlab images build')", runner.ErrImageMissing, BaseRef)
		}
		baseID = id
	}
	for _, svc := range l.Services {
		if svc.Image != "" {
			set.Services[svc.Name] = svc.Image
			continue
		}
		ref, err := b.context(ctx, l, l.Path(svc.Build), svc.Tools, l.ID+"-"+svc.Name, baseID, build)
		if err != nil {
			return set, fmt.Errorf("lab %s: service %s: %w", l.ID, svc.Name, err)
		}
		set.Services[svc.Name] = ref
	}
	ref, err := b.checker(ctx, l, baseID, build)
	if err != nil {
		return set, fmt.Errorf("lab %s: checker: %w", l.ID, err)
	}
	set.Checker = ref
	return set, nil
}

// context builds (or finds) the image of one build folder, with the
// service's tools compiled into it as tools/NAME (they count in the hash).
func (b *Builder) context(ctx context.Context, l *lab.Lab, dir string, tools []string, name, baseID string, build bool) (string, error) {
	files, err := readTree(dir)
	if err != nil {
		return "", err
	}
	for _, tool := range tools {
		pkg := lab.Tools[tool]
		if pkg == "" {
			return "", fmt.Errorf("unknown tool %q", tool)
		}
		bin, err := compileGo(ctx, l.Dir(), pkg)
		if err != nil {
			return "", fmt.Errorf("tool %s: %w", tool, err)
		}
		files["x:tools/"+tool] = bin
	}
	hash := hashFiles(files, baseID)
	ref := "backlab/" + name + ":" + hash[:12]
	if _, ok := b.current(ctx, ref, hash); ok {
		return ref, nil
	}
	if !build {
		return "", fmt.Errorf("%w: %s (run 'backlab images build')", runner.ErrImageMissing, ref)
	}
	b.log().Info("building image", "image", ref, "context", dir)
	ctxTar, err := tarFiles(files)
	if err != nil {
		return "", err
	}
	if err := b.build(ctx, ref, ctxTar, map[string]string{labelHash: hash, labelLab: l.ID}); err != nil {
		return "", err
	}
	return ref, nil
}
