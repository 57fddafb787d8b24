from mtdnn_allennlp.data.fields.word_pieces_field import WordPiecesField

__all__ = ["WordPiecesField"]
