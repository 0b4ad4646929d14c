// Package images builds the container images labs run on, on a Docker
// engine. [Builder.Lab] resolves a lab's images to a [runner.ImageSet]
// (the domain's name for them); an image that is not built yet, when
// building is not asked for, is an error wrapping [runner.ErrImageMissing].
//
// Every image derives from one base, [BaseRef], which is built from
// [DebianRef] plus CA certificates (and an optional extra CA bundle for
// networks behind a TLS-intercepting proxy). [DebianRef] is pulled where a
// registry answers and made with debootstrap and an image import where none
// does.
//
// Lab images are tagged with a hash of their build context and of the base
// image, so a build is skipped when nothing changed and a changed lab never
// runs a stale image. A lab's checker is compiled with the host's Go
// toolchain and packed into an image of its own.
package images
