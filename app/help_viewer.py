"""Help > User guide and Help > Tutorial: the Markdown documents of ``nanotwin_app.guide`` (the
repository's docs/, installed with the package) rendered with their images in a window of their
own. Links between the documents follow inside it; web links open in the browser. Images wider
than the view are shown scaled to its width (a third of it in a table)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QImage, QPixmap, QTextCursor, QTextDocument, QTextImageFormat
from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from nanotwin_core.errors import NanotwinError

DOCUMENTS = {"guide": "guide.md", "tutorial": "tutorial.md"}
IMAGE_MARGIN_PX = 40


def document_path(name: str) -> Path:
    """The installed file of document ``name`` ("guide" or "tutorial")."""
    try:
        folder = resources.files("nanotwin_app.guide")
    except ModuleNotFoundError:
        raise NanotwinError("the user guide is not installed with this copy of nanotwin: reinstall it "
                            "(python -m pip install -e . in the clone)") from None
    path = Path(str(folder / DOCUMENTS[name]))
    if not path.is_file():
        raise NanotwinError(f"{path}: the {name} is missing from this installation")
    return path


class DocumentBrowser(QTextBrowser):
    """A QTextBrowser for Markdown files whose images fit its width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setOpenExternalLinks(True)
        self.sourceChanged.connect(lambda _url: self.fit_images())

    def show_markdown(self, path: Path) -> None:
        """Show the Markdown file ``path`` (relative image paths and links resolve beside it)."""
        self.setSource(QUrl.fromLocalFile(str(path)), QTextDocument.ResourceType.MarkdownResource)

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 - Qt override
        """Markdown links to other documents open as Markdown too."""
        if url.isLocalFile() and url.toLocalFile().endswith(".md"):
            kind = QTextDocument.ResourceType.MarkdownResource
        return super().loadResource(kind, url)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        """Fit the images to the new width."""
        super().resizeEvent(event)
        self.fit_images()

    def images(self) -> list[tuple[str, QImage]]:
        """(name, image) of every image of the shown document, as loaded."""
        return [(fmt.name(), image) for _frag, fmt, image in image_fragments(self.document())]

    def fit_images(self) -> None:
        """Scale every image wider than the view down to the view's width."""
        doc = self.document()
        room = max(self.viewport().width() - IMAGE_MARGIN_PX, 100)
        cursor = QTextCursor(doc)
        for frag, fmt, image in image_fragments(doc):
            if image.isNull():
                continue
            cursor.setPosition(frag.position())
            width = min(image.width(), room // 3 if cursor.currentTable() is not None else room)
            fmt.setWidth(width)
            fmt.setHeight(image.height() * width / image.width())
            cursor.setPosition(frag.position() + frag.length(), QTextCursor.MoveMode.KeepAnchor)
            cursor.setCharFormat(fmt)


def as_image(resource) -> QImage:
    """A document's image resource (QImage or QPixmap as Qt loaded it) as a QImage (null: none)."""
    if isinstance(resource, QPixmap):
        return resource.toImage()
    return resource if isinstance(resource, QImage) else QImage()


def image_fragments(doc: QTextDocument):
    """(fragment, its QTextImageFormat, the loaded QImage) of every image in ``doc``."""
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            frag = it.fragment()
            if frag.charFormat().isImageFormat():
                fmt = QTextImageFormat(frag.charFormat().toImageFormat())
                resource = doc.resource(QTextDocument.ResourceType.ImageResource, QUrl(fmt.name()))
                yield frag, fmt, as_image(resource)
            it += 1
        block = block.next()


class HelpWindow(QDialog):
    """A window showing the guide or the tutorial, with Back, Guide and Tutorial buttons."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("nanotwin help")
        self.resize(900, 700)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.back_button = QPushButton("Back")
        self.guide_button = QPushButton("User guide")
        self.tutorial_button = QPushButton("Tutorial")
        for b in (self.back_button, self.guide_button, self.tutorial_button):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        self.browser = DocumentBrowser()
        layout.addWidget(self.browser, 1)
        self.back_button.clicked.connect(self.browser.backward)
        self.browser.backwardAvailable.connect(self.back_button.setEnabled)
        self.back_button.setEnabled(False)
        self.guide_button.clicked.connect(lambda: self.show_document("guide"))
        self.tutorial_button.clicked.connect(lambda: self.show_document("tutorial"))

    def show_document(self, name: str) -> None:
        """Show "guide" or "tutorial" (NanotwinError where it is not installed)."""
        self.browser.show_markdown(document_path(name))
        self.setWindowTitle(f"nanotwin {name}")
