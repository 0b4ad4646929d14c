package web

import (
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/backlab/backlab/internal/session"
)

// filesView is the workspace's tree.
type filesView struct {
	Root    string              `json:"root"`
	Entries []session.FileEntry `json:"entries"`
}

// fileView is a file of the workspace with its text.
type fileView struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	Size    int    `json:"size"`
}

// fileWritten is a file just saved.
type fileWritten struct {
	Path string `json:"path"`
	Size int    `json:"size"`
}

func (s *Server) listFiles(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	files, err := sess.Files(r.Context())
	if errors.Is(err, session.ErrNotRunning) {
		notRunning(w, sess)
		return
	}
	if err != nil {
		s.internal(w, err)
		return
	}
	if files == nil {
		files = []session.FileEntry{}
	}
	writeJSON(w, http.StatusOK, filesView{Root: sess.WorkDir(), Entries: files})
}

func (s *Server) readFile(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	p := r.URL.Query().Get("path")
	b, err := sess.ReadFile(r.Context(), p)
	if s.fileError(w, sess, err) {
		return
	}
	writeJSON(w, http.StatusOK, fileView{Path: path.Clean(p), Content: string(b), Size: len(b)})
}

func (s *Server) writeFile(w http.ResponseWriter, r *http.Request, sess *session.Session) {
	var body struct {
		Content *string `json:"content"`
	}
	if !readJSON(w, r, session.MaxFileSize*2+4<<10, &body) {
		return
	}
	if body.Content == nil {
		writeError(w, http.StatusBadRequest, `the body needs "content": the file's new text`, "")
		return
	}
	p := r.URL.Query().Get("path")
	err := sess.WriteFile(r.Context(), p, []byte(*body.Content))
	if s.fileError(w, sess, err) {
		return
	}
	writeJSON(w, http.StatusOK, fileWritten{Path: path.Clean(p), Size: len(*body.Content)})
}

func (s *Server) fileError(w http.ResponseWriter, sess *session.Session, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, session.ErrNotRunning):
		notRunning(w, sess)
	case errors.Is(err, session.ErrBadPath):
		writeError(w, http.StatusBadRequest, strings.TrimPrefix(err.Error(), session.ErrBadPath.Error()+": "), "")
	default:
		s.internal(w, err)
	}
	return true
}
