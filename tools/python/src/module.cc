// The extension module nspbert._nspbert: exception classes matching the CLI's exit-code kinds
// (engine/error.h), JSON conversions, and the bindings of bindings_model.cc.
#include <new>
#include <string>

#include "engine/error.h"
#include "engine/io/jsonl_stream.h"
#include "tools/python/src/common.h"

namespace nspbert::python {

py::object to_python(const nlohmann::ordered_json& value) {
  static py::handle loads =
      py::object(py::module_::import("json").attr("loads")).release();  // never freed: no decref after Python finalised
  return loads(value.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
}

py::object to_python(const nlohmann::json& value) {
  static py::handle loads =
      py::object(py::module_::import("json").attr("loads")).release();  // never freed: no decref after Python finalised
  return loads(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

nlohmann::json from_python(py::handle value, const std::string& what) {
  static py::handle dumps =
      py::object(py::module_::import("json").attr("dumps")).release();  // never freed: no decref after Python finalised
  std::string text;
  try {
    text = py::str(dumps(value, py::arg("ensure_ascii") = false, py::arg("allow_nan") = false));
  } catch (py::error_already_set& e) {
    // Ctrl-C landing inside json.dumps raises KeyboardInterrupt there: it must stop the run, not
    // become this record's "not JSON" error (the signal is consumed, so the loop would go on).
    if (!e.matches(PyExc_Exception)) throw;
    fail_input(what + " is not JSON: " + std::string(py::str(e.value())));
  }
  return nlohmann::json::parse(text);
}

void check_signals() {
  py::gil_scoped_acquire gil;
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

namespace {

// Every message is one line, as the CLI prints it (tools/cli/main.cc).
std::string one_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';
  return message;
}

PyObject* new_error(py::module_& m, const char* name, PyObject* base, const char* doc, int exit_code) {
  const std::string qualified = std::string("nspbert.") + name;
  PyObject* type = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (!type) throw py::error_already_set();
  py::handle(type).attr("exit_code") = exit_code;
  m.add_object(name, py::handle(type));  // the module keeps a reference for the process's life
  return type;
}

}  // namespace

}  // namespace nspbert::python

PYBIND11_MODULE(_nspbert, m) {
  using namespace nspbert;
  using namespace nspbert::python;
  m.doc() = "nspbert's C++ engine (see the nspbert package for the documented API)";
  static PyObject* error = new_error(m, "Error", PyExc_RuntimeError,
                                     "Any nspbert failure; the subclass says which kind (as the CLI's exit code).", 1);
  static PyObject* usage =
      new_error(m, "UsageError", error, "Arguments that cannot work together (CLI exit code 2).", 2);
  static PyObject* model = new_error(m, "ModelError", error, "A model folder nspbert cannot use (CLI exit code 3).", 3);
  static PyObject* input = new_error(m, "InputError", error, "Input data nspbert cannot use (CLI exit code 3).", 3);
  static PyObject* internal =
      new_error(m, "InternalError", error, "A bug in nspbert: please report it (CLI exit code 4).", 4);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      PyObject* type = e.kind() == ErrorKind::Usage   ? usage
                       : e.kind() == ErrorKind::Model ? model
                       : e.kind() == ErrorKind::Input ? input
                                                      : internal;
      PyErr_SetString(type, one_line(e.what()).c_str());
    } catch (const io::LineError& e) {
      PyErr_SetString(input, one_line(e.what()).c_str());
    } catch (const py::builtin_exception&) {
      throw;  // pybind11's own (StopIteration, ValueError, ...): its default translator handles them
    } catch (const py::error_already_set&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& e) {
      // Anything else escaping the library is a bug, as the CLI's exit code 4 says (tools/cli/main.cc).
      PyErr_SetString(internal, ("internal error: " + one_line(e.what())).c_str());
    }
  });
  bind_model(m);
  bind_compare_norms(m);
}
